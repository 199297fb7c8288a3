"""Losses as pure functions. Images are (B, 3, H, W) in [-1, 1]; logits are (B,) pre-sigmoid.

Every loss returns a scalar. Discriminator losses take the real logits and one fake batch or a
list of them (the CVAE-GAN shows its critic both reconstructions and prior samples).
"""

from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F

Logits = Union[torch.Tensor, Sequence[torch.Tensor]]


def _as_list(logits: Logits) -> list[torch.Tensor]:
    # Losses are computed in float32 even under bf16 autocast: sums over many pixels need the bits.
    return [t.float() for t in ([logits] if isinstance(logits, torch.Tensor) else logits)]


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum_j (1 + logvar_j - mu_j^2 - exp(logvar_j)), batch mean."""
    mu, logvar = mu.float(), logvar.float()
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


def reconstruction_l2(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """sum_pixels (recon - x)^2, batch mean: a Gaussian log-likelihood up to constants, on the KL's scale."""
    return (recon.float() - x.float()).pow(2).flatten(1).sum(dim=1).mean()


def reconstruction_bce(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-sum_pixels [p log q + (1 - p) log(1 - q)], batch mean, with p = (x + 1)/2 and q = (recon + 1)/2.

    The original experiment's reconstruction term: per-pixel binary cross-entropy on [0, 1]
    images, summed over pixels. Logs are clamped at -100 (PyTorch's BCE), so a saturated
    sigmoid gives a large finite loss rather than infinity.
    """
    q = ((recon.float() + 1) / 2).clamp(0, 1)
    p = ((x.float() + 1) / 2).clamp(0, 1)
    # Written out rather than F.binary_cross_entropy, which raises on NaN: a diverging run
    # must reach the training loop's "loss is not finite" stop, not crash inside the loss.
    log_q, log_not_q = q.log().clamp(min=-100), (1 - q).log().clamp(min=-100)
    return -(p * log_q + (1 - p) * log_not_q).flatten(1).sum(dim=1).mean()


def reconstruction_signed_bce(recon: torch.Tensor, x: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """-sum_pixels [x log q + (1 - x) log(1 - q)], batch mean, with x in [-1, 1] as it is and q = (recon + 1)/2.

    The article's VAE loss as its Keras scripts compute it: binary cross-entropy of the sigmoid
    output against images scaled to [-1, 1], q clipped to [eps, 1 - eps] (Keras' epsilon). For a
    dark pixel (x < 0) the loss falls without bound as q -> 0 until the clip, which is why the
    article's loss figures are negative; the optimum is q = max(x, eps) rather than q = (x + 1)/2.
    """
    q = ((recon.float() + 1) / 2).clamp(eps, 1 - eps)
    x = x.float()
    return -(x * q.log() + (1 - x) * (1 - q).log()).flatten(1).sum(dim=1).mean()


def article_units(loss: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """A per-image summed loss in the article's reported units: divided by 2 * 3 * H * W for (3, H, W) images."""
    return loss / (2 * image[0].numel())


def _weights(fakes: list, weights: Optional[Sequence[float]]) -> Sequence[float]:
    return [1.0] * len(fakes) if weights is None else weights


def d_hinge(real_logits: torch.Tensor, fake_logits: Logits, weights: Optional[Sequence[float]] = None) -> torch.Tensor:
    """mean(relu(1 - D(real))) + sum over fake batches of weight * mean(relu(1 + D(fake))) (weights 1 by default)."""
    loss = F.relu(1 - real_logits.float()).mean()
    fakes = _as_list(fake_logits)
    for fake, weight in zip(fakes, _weights(fakes, weights)):
        loss = loss + weight * F.relu(1 + fake).mean()
    return loss


def g_hinge(fake_logits: Logits) -> torch.Tensor:
    """-mean(D(fake)), summed over fake batches."""
    return sum(-fake.mean() for fake in _as_list(fake_logits))


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): the mean over the batch of the squared norm of the gradient of each real
    image's mean logit (a patch critic's logits (B, 1, h, w) averaged) with respect to that image (B, C, H, W),
    which must require grad. Kept in the graph, so that the critic learns to be smooth around the photos."""
    scores = real_logits.float().flatten(1).mean(1).sum()
    (grad,) = torch.autograd.grad(scores, real_images, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()


def d_bce(real_logits: torch.Tensor, fake_logits: Logits, weights: Optional[Sequence[float]] = None) -> torch.Tensor:
    """-mean(log sigmoid(D(real))) - sum over fake batches of weight * mean(log(1 - sigmoid(D(fake)))).

    Written with softplus: -log sigmoid(t) = softplus(-t), -log(1 - sigmoid(t)) = softplus(t).
    """
    loss = F.softplus(-real_logits.float()).mean()
    fakes = _as_list(fake_logits)
    for fake, weight in zip(fakes, _weights(fakes, weights)):
        loss = loss + weight * F.softplus(fake).mean()
    return loss


def g_bce(fake_logits: Logits) -> torch.Tensor:
    """Non-saturating generator loss: -mean(log sigmoid(D(fake))) = mean(softplus(-D(fake))), summed over batches."""
    return sum(F.softplus(-fake).mean() for fake in _as_list(fake_logits))


def feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """1/2 ||mean_batch f(real) - mean_batch f(fake)||^2 (Bao et al. 2017, for prior samples)."""
    return 0.5 * (real_features.float().mean(dim=0) - fake_features.float().mean(dim=0)).pow(2).sum()


def pairwise_feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """1/2 mean_i ||f(real_i) - f(fake_i)||^2: per-sample matching, for reconstructions of the same images."""
    return 0.5 * (real_features.float() - fake_features.float()).pow(2).flatten(1).sum(dim=1).mean()


def mean_squared(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """mean over every value of (real - fake)^2: Keras' per-element mean, for pixels or paired features."""
    return (real.float() - fake.float()).pow(2).mean()


def mean_feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """1/2 mean_dims (mean_batch f(real) - mean_batch f(fake))^2: ``feature_matching`` averaged over dimensions."""
    return 0.5 * (real_features.float().mean(dim=0) - fake_features.float().mean(dim=0)).pow(2).mean()


def mode_seeking(fake_a: torch.Tensor, fake_b: torch.Tensor, z_a: torch.Tensor, z_b: torch.Tensor,
                 eps: float = 1e-5) -> torch.Tensor:
    """1 / (mean |fake_a - fake_b| / mean |z_a - z_b| + eps): small when two noises draw different pizzas.

    MSGAN (Mao et al. 2019) for a conditional generator: ``fake_a`` and ``fake_b`` (B, 3, H, W) are
    drawn for the same recipes from noises ``z_a`` and ``z_b`` (B, latent). Minimising it pushes the
    generator to let the noise change the picture, against mode collapse within a recipe.
    """
    images = (fake_a.float() - fake_b.float()).abs().mean()
    noises = (z_a.float() - z_b.float()).abs().mean()
    return 1 / (images / noises + eps)


def latent_regression(z_predicted: torch.Tensor, z_drawn: torch.Tensor) -> torch.Tensor:
    """sum_dims (z_predicted - z_drawn)^2, batch mean: how far the encoder's mean for a drawn pizza
    lands from the noise that drew it (BicycleGAN's latent regression, Zhu et al. 2017), on the KL's scale."""
    return (z_predicted.float() - z_drawn.float()).pow(2).sum(dim=1).mean()


def multilabel_bce(logits: torch.Tensor, presence: torch.Tensor) -> torch.Tensor:
    """mean over (B, V) of BCE(sigmoid(logits), presence); counts > 1 (double portions) count as present."""
    return F.binary_cross_entropy_with_logits(logits.float(), presence.float().clamp(max=1))


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of x under N(mean, exp(log_std)^2), without the constant."""
    return (log_std + 0.5 * ((x - mean) / log_std.exp()) ** 2).mean()


def high_pass(x: torch.Tensor) -> torch.Tensor:
    """What a 3x3 box blur removes from pictures x (B, C, H, W): their pixel-scale texture, same shape."""
    return x - F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def high_pass_energy(x: torch.Tensor, cell: int = 8) -> torch.Tensor:
    """(B, C, H / cell, W / cell): root-mean-square of ``high_pass(x)`` cell by cell, so that grain goes where the
    picture has it."""
    energy = F.avg_pool2d(high_pass(x).pow(2), cell)
    return (energy + 1e-8).sqrt()  # a flat cell (a photo's white background) has energy 0, where sqrt's slope is infinite


def interior_energy(x: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """(N, C): root-mean-square of ``high_pass(x)`` for layers x (N, C, S, S), over the pixels ``inside`` (N, 1, S, S)
    alone (a piece's texture, not its edge)."""
    residual = high_pass(x).pow(2) * inside
    return (residual.sum((2, 3)) / inside.sum((2, 3)).clamp(min=1) + 1e-8).sqrt()


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Squared sliced Wasserstein-2 distance between the point clouds a (N, D) and b (N, D), along ``directions``
    (D, K) of unit length: each cloud projected on each direction and sorted, then matched quantile to quantile."""
    return F.mse_loss((a.float() @ directions).sort(0).values, (b.float() @ directions).sort(0).values)


def patch_distance(drawn: torch.Tensor, real: torch.Tensor, patch: int = 5, scales: Sequence[int] = (1, 2, 4),
                   n_patches: int = 4096, n_directions: int = 64, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """How far the ``patch`` x ``patch`` px patches of drawn (B, 3, H, W) lie from those of real (B', 3, H, W) as a
    distribution (texture by example, no critic to fool): the mean over ``scales`` (each picture box-filtered down by
    that factor) of the ``sliced_wasserstein`` distance of ``n_patches`` patches of each, on fresh random directions."""
    device, total = drawn.device, drawn.new_zeros((), dtype=torch.float32)
    for scale in scales:
        clouds = []
        for x in (drawn, real):
            x = F.avg_pool2d(x.float(), scale) if scale > 1 else x.float()
            x = F.unfold(x, patch).transpose(1, 2).flatten(0, 1)  # (B * L, 3 * patch * patch)
            clouds.append(x[torch.randint(len(x), (n_patches,), generator=generator, device=device)])
        directions = F.normalize(torch.randn(clouds[0].shape[1], n_directions, generator=generator, device=device), dim=0)
        total = total + sliced_wasserstein(*clouds, directions)
    return total / len(scales)
