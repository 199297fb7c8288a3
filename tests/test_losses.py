"""Losses on known answers, and the differentiable augmentations."""

import math

import pytest
import torch

from pizza_models import losses
from pizza_models.augment import AUGMENTS, diff_augment


def test_kl_of_the_prior_is_zero():
    assert losses.kl_divergence(torch.zeros(4, 8), torch.zeros(4, 8)).item() == 0


def test_kl_of_unit_mean_is_half_the_latent_dim():
    assert losses.kl_divergence(torch.ones(4, 8), torch.zeros(4, 8)).item() == pytest.approx(4.0)


def test_mode_seeking_is_the_reciprocal_of_picture_distance_per_noise_distance():
    a, z_a, z_b = torch.zeros(2, 3, 4, 4), torch.zeros(2, 8), torch.full((2, 8), 2.0)
    # mean |a - b| = 0.5 over mean |z_a - z_b| = 2: ratio 1/4, loss 4
    assert losses.mode_seeking(a, a + 0.5, z_a, z_b).item() == pytest.approx(4.0, rel=1e-4)
    assert losses.mode_seeking(a, a, z_a, z_b).item() == pytest.approx(1e5)  # one picture for two noises: 1/eps


def test_reconstruction_l2_sums_pixels_and_averages_batch():
    x = torch.zeros(2, 3, 4, 4)
    assert losses.reconstruction_l2(x + 0.5, x).item() == pytest.approx(48 * 0.25)


def test_reconstruction_bce_is_the_per_pixel_bce_sum_on_unit_images():
    x = torch.full((2, 3, 4, 4), 1.0)  # white: target 1
    recon = torch.zeros_like(x)  # grey: probability 1/2
    assert losses.reconstruction_bce(recon, x).item() == pytest.approx(48 * math.log(2), rel=1e-5)
    assert losses.reconstruction_bce(x, x).item() == pytest.approx(0, abs=1e-4)


def test_signed_bce_takes_the_image_in_minus_one_to_one_as_its_target():
    x = torch.full((1, 3, 2, 2), -1.0)  # black: the article's target is -1, not 0
    recon = torch.zeros_like(x)  # q = 1/2
    # -[x log q + (1 - x) log(1 - q)] = -[-log(1/2) + 2 log(1/2)] = log 2 per value, 12 values
    assert losses.reconstruction_signed_bce(recon, x).item() == pytest.approx(12 * math.log(2), rel=1e-5)
    # q at Keras' clip 1e-7: the loss is negative, as the article's figures
    assert losses.reconstruction_signed_bce(-torch.ones_like(x), x).item() == pytest.approx(12 * math.log(1e-7), rel=1e-4)


def test_article_units_divide_by_twice_the_values_of_an_image():
    image = torch.zeros(4, 3, 8, 8)
    assert losses.article_units(torch.tensor(384.0), image).item() == 1.0


def test_mean_losses_average_over_every_value():
    real, fake = torch.zeros(2, 4), torch.ones(2, 4)
    assert losses.mean_squared(real, fake).item() == 1.0
    # batch means differ by 1 in each of the 4 dimensions: 1/2 * mean(1) = 0.5 (the summed version: 2)
    assert losses.mean_feature_matching(real, fake).item() == 0.5
    assert losses.feature_matching(real, fake).item() == 2.0


def test_r1_is_the_squared_gradient_of_the_mean_logit_per_image():
    images = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits = (images * 3).sum(1, keepdim=True)  # (2, 1, 4, 4): each image's mean logit has gradient 3/16 per pixel
    assert losses.r1_penalty(logits, images).item() == pytest.approx(48 * (3 / 16) ** 2)


def test_r1_is_zero_for_a_critic_that_ignores_the_pixels():
    images = torch.randn(2, 3, 4, 4, requires_grad=True)
    logits = images.sum(1, keepdim=True) * 0 + 1
    assert losses.r1_penalty(logits, images).item() == 0


def test_hinge_is_zero_at_the_margins():
    ones = torch.ones(5)
    assert losses.d_hinge(ones, -ones).item() == 0
    assert losses.d_hinge(ones, [-ones, -2 * ones]).item() == 0
    assert losses.d_hinge(-ones, ones).item() == pytest.approx(4.0)
    assert losses.g_hinge(torch.full((5,), 3.0)).item() == pytest.approx(-3.0)


def test_bce_losses_vanish_for_confident_correct_logits():
    big = torch.full((5,), 30.0)
    assert losses.d_bce(big, [-big, -big]).item() == pytest.approx(0, abs=1e-6)
    assert losses.g_bce(big).item() == pytest.approx(0, abs=1e-6)
    zero = torch.zeros(5)
    assert losses.d_bce(zero, zero).item() == pytest.approx(2 * math.log(2))


def test_feature_matching_compares_batch_means():
    real = torch.tensor([[1.0, 0.0], [-1.0, 2.0]])  # mean (0, 1)
    assert losses.feature_matching(real, real.flip(0)).item() == 0
    assert losses.feature_matching(real, torch.zeros(2, 2)).item() == pytest.approx(0.5)
    assert losses.pairwise_feature_matching(real, real.flip(0)).item() == pytest.approx(0.5 * (4 + 4))


def test_multilabel_bce_treats_double_portions_as_present():
    logits = torch.tensor([[30.0, -30.0, 30.0]])
    assert losses.multilabel_bce(logits, torch.tensor([[1, 0, 2]])).item() == pytest.approx(0, abs=1e-6)
    assert losses.multilabel_bce(torch.zeros(1, 3), torch.tensor([[True, False, True]])).item() == pytest.approx(math.log(2))


def test_empty_policy_returns_the_input():
    x = torch.randn(2, 3, 16, 16)
    assert diff_augment(x, "") is x


@pytest.mark.parametrize("policy", [*AUGMENTS, "color,translation,cutout,rotation"])
def test_augment_keeps_shape_and_gradients(policy):
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    out = diff_augment(x, policy, generator=torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_augment_is_reproducible_with_a_generator():
    x = torch.randn(4, 3, 16, 16)
    a = diff_augment(x, "color,translation,cutout,rotation", torch.Generator().manual_seed(3))
    b = diff_augment(x, "color,translation,cutout,rotation", torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and not torch.equal(a, x)


def test_translation_moves_content_and_fills_zeros():
    x = torch.ones(8, 1, 16, 16)
    out = diff_augment(x, "translation", torch.Generator().manual_seed(0))
    assert set(out.unique().tolist()) <= {0.0, 1.0} and (out == 0).any()


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="flip"):
        diff_augment(torch.zeros(1, 3, 8, 8), "flip")


def test_gaussian_nll_is_smallest_at_the_true_mean_and_spread():
    x = torch.randn(4096, generator=torch.Generator().manual_seed(0)) * 2 + 3
    at = lambda mean, std: losses.gaussian_nll(x, torch.tensor(mean), torch.tensor(std).log()).item()  # noqa: E731
    assert at(3.0, 2.0) < min(at(2.5, 2.0), at(3.5, 2.0), at(3.0, 1.5), at(3.0, 2.5))


def test_latent_regression_sums_squared_errors_over_dimensions_and_averages_over_the_batch():
    z = torch.zeros(4, 8)
    assert losses.latent_regression(z + 0.5, z).item() == pytest.approx(8 * 0.25)
    assert losses.latent_regression(z, z).item() == 0


def test_sliced_wasserstein_is_zero_for_the_same_cloud_in_another_order():
    cloud, directions = torch.randn(64, 5), torch.nn.functional.normalize(torch.randn(5, 8), dim=0)
    assert losses.sliced_wasserstein(cloud, cloud[torch.randperm(64)], directions).item() == pytest.approx(0, abs=1e-12)


def test_sliced_wasserstein_of_a_shifted_cloud_is_the_squared_shift_along_each_direction():
    cloud, directions = torch.randn(64, 2), torch.eye(2)
    assert losses.sliced_wasserstein(cloud, cloud + torch.tensor([3.0, 0.0]), directions).item() == pytest.approx(9 / 2)


def test_patches_of_a_picture_upside_down_lie_nearer_it_than_those_of_a_flat_copy():
    stripes = torch.linspace(-1, 1, 32).repeat(2, 3, 32, 1)  # (2, 3, 32, 32): ramps left to right
    stripes = stripes + 0.3 * torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    flat = stripes.mean((2, 3), keepdim=True).expand_as(stripes)  # the same colour, no texture
    g = torch.Generator().manual_seed(1)
    assert losses.patch_distance(stripes.flip(2), stripes, generator=g) < 0.1 * losses.patch_distance(flat, stripes, generator=g)


def test_patch_distance_trains_a_picture_towards_the_real_texture():
    real = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    drawn = torch.zeros(1, 3, 16, 16, requires_grad=True)
    start = losses.patch_distance(drawn, real, scales=(1,), n_patches=256, generator=torch.Generator().manual_seed(1)).item()
    optimiser = torch.optim.Adam([drawn], lr=0.05)
    for step in range(100):
        optimiser.zero_grad()
        losses.patch_distance(drawn, real, scales=(1,), n_patches=256, generator=torch.Generator().manual_seed(step)).backward()
        optimiser.step()
    end = losses.patch_distance(drawn, real, scales=(1,), n_patches=256, generator=torch.Generator().manual_seed(1)).item()
    assert end < 0.2 * start
