"""The evaluation's maths: pure functions of tensors, no models, no files.

- ``recipe_f1``, ``per_ingredient``: how well ingredient sets are read, from (N, V) bool tensors;
- ``constant_reader_f1``: the same, in closed form, for a reader that gives one answer to every pizza;
- ``disagreement``: per ingredient, how often two readers differ;
- ``frechet_distance``, ``kernel_inception_distance``, ``diversity``: distances between feature sets;
- ``psnr``: reconstruction quality;
- ``radial_power_spectrum``, ``spectral_distance``: the artifact measure (checkerboards and stripes
  are peaks in the high frequencies).
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

from ..recipe import Vocabulary

Images = torch.Tensor  # (B, 3, H, W) float in [-1, 1]


# --------------------------------------------------------------------------- reading recipes


def _ingredient_counts(predicted, target) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """True positives, false positives, false negatives per ingredient: three (V,) float64 tensors."""
    predicted, target = torch.as_tensor(predicted).bool(), torch.as_tensor(target).bool()
    if predicted.shape != target.shape or predicted.dim() != 2:
        raise ValueError(f"predicted and target must both be (N, V); got {tuple(predicted.shape)} and {tuple(target.shape)}")
    tp = (predicted & target).sum(0).double()
    fp = (predicted & ~target).sum(0).double()
    fn = (~predicted & target).sum(0).double()
    return tp, fp, fn


def _f1_from_counts(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> dict[str, float]:
    """Micro and macro F1 from per-ingredient (V,) counts; see ``recipe_f1`` for the conventions."""
    denominator = 2 * tp + fp + fn  # (V,); zero exactly when the ingredient occurs nowhere
    micro = 1.0 if denominator.sum() == 0 else float(2 * tp.sum() / denominator.sum())
    occurs = denominator > 0
    macro = float((2 * tp[occurs] / denominator[occurs]).mean()) if occurs.any() else 1.0
    return {"micro_f1": micro, "macro_f1": macro}


def recipe_f1(predicted, target) -> dict[str, float]:
    """Micro and macro F1 of predicted ingredient sets against the true ones.

    predicted, target: (N, V) bool, one row per pizza, one column per ingredient.
    micro_f1 pools every (pizza, ingredient) decision: 2TP / (2TP + FP + FN).
    macro_f1 averages the per-ingredient F1 over the ingredients that occur in the target or the
    prediction; an ingredient absent from both has no defined F1 and is left out (it would
    otherwise count as a free 1.0 or an unfair 0.0). When nothing occurs anywhere, both are 1.0:
    the prediction agrees with the target on every decision.
    """
    return _f1_from_counts(*_ingredient_counts(predicted, target))


def constant_reader_f1(target, answer) -> dict[str, float]:
    """``recipe_f1`` of a reader that answers ``answer`` for every pizza, in closed form.

    target: (N, V) bool; answer: (V,) bool. With n_i the pizzas that have ingredient i:
    an answered ingredient has TP = n_i, FP = N - n_i, FN = 0, so F1_i = 2 n_i / (N + n_i);
    an unanswered one has TP = FP = 0, FN = n_i, so F1_i = 0 (and no F1 when n_i = 0).
    """
    target, answer = torch.as_tensor(target).bool(), torch.as_tensor(answer).bool()
    if target.dim() != 2 or answer.shape != target.shape[1:]:
        raise ValueError(f"target must be (N, V) and answer (V,); got {tuple(target.shape)} and {tuple(answer.shape)}")
    n = target.sum(0).double()  # (V,)
    total = torch.full_like(n, len(target))
    zero = torch.zeros_like(n)
    return _f1_from_counts(torch.where(answer, n, zero), torch.where(answer, total - n, zero), torch.where(answer, zero, n))


def per_ingredient(predicted, target, ids: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support per ingredient id; a ratio with nothing to count is None."""
    tp, fp, fn = _ingredient_counts(predicted, target)

    def ratio(a: torch.Tensor, b: torch.Tensor) -> Optional[float]:
        return float(a / b) if b > 0 else None

    return {
        i: {"precision": ratio(tp[k], tp[k] + fp[k]), "recall": ratio(tp[k], tp[k] + fn[k]),
            "f1": ratio(2 * tp[k], 2 * tp[k] + fp[k] + fn[k]), "support": int(tp[k] + fn[k])}
        for k, i in enumerate(ids)
    }


def disagreement(predicted_a, predicted_b) -> torch.Tensor:
    """(V,) float64: per ingredient, the share of pizzas on which two readings (N, V) bool differ."""
    a, b = torch.as_tensor(predicted_a).bool(), torch.as_tensor(predicted_b).bool()
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"readings must both be (N, V); got {tuple(a.shape)} and {tuple(b.shape)}")
    return (a ^ b).double().mean(0)


# --------------------------------------------------------------------------- distances between feature sets


def _features64(feats, name: str) -> torch.Tensor:
    x = torch.as_tensor(feats).detach().cpu().double()
    if x.dim() != 2:
        raise ValueError(f"{name} must be (N, F) features, got shape {tuple(x.shape)}")
    return x


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix; tiny negative eigenvalues from
    rounding are clipped to 0, so a rank-deficient covariance is fine."""
    w, v = torch.linalg.eigh(m)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(feats_a, feats_b) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, F), (N_b, F); float64.

    d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)). The last trace is computed
    as the sum of square roots of the eigenvalues of the symmetric S_a^(1/2) S_b S_a^(1/2) (same
    spectrum as S_a S_b), so no complex square root and no blow-up for near-singular covariances.
    Rounding can leave a result a hair below 0 for identical sets; it is clipped to 0.

    Raises ValueError when either set has no more images than feature dimensions.
    """
    a, b = _features64(feats_a, "feats_a"), _features64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    d = a.shape[1]
    if min(len(a), len(b)) <= d:
        raise ValueError(
            f"Frechet distance needs more images than feature dimensions: got {len(a)} and {len(b)} "
            f"images of {d}-dimensional features. A covariance estimated from n images has rank at "
            f"most n - 1, so with n <= {d} it is singular and the distance mostly measures the "
            f"shortage (the 20 real photos alone are never enough). Use more images, or the kernel "
            f"inception distance (kernel_inception_distance), which is unbiased for small sets."
        )
    mu_a, mu_b = a.mean(0), b.mean(0)  # (F,)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)  # (F, F), unbiased (n - 1)
    root_a = _sqrtm_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    middle = (middle + middle.T) / 2  # symmetric up to rounding; make it exactly so for eigvalsh
    trace_root = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()
    distance = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(float(distance), 0.0)


def kernel_inception_distance(feats_a, feats_b, subsets: int = 100, subset_size: int = 256, seed: int = 0) -> float:
    """Kernel inception distance (Binkowski et al. 2018): unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3.

    feats_a (N_a, F), feats_b (N_b, F). The estimate is averaged over ``subsets`` random subsets
    of ``min(subset_size, N_a, N_b)`` images from each set (drawn with a ``torch.Generator``
    seeded ``seed``); when that size is both full sets, one exact estimate is returned. Being
    unbiased it can be slightly negative; 0 means same distribution. Needs 2 images a set.
    """
    a, b = _features64(feats_a, "feats_a"), _features64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs at least 2 images per set, got {len(a)} and {len(b)}")
    if m == len(a) == len(b):
        subsets = 1  # every subset would be the whole set
    d = a.shape[1]
    generator = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=generator)[:m]]  # (m, F)
        y = b[torch.randperm(len(b), generator=generator)[:m]]  # (m, F)
        k_xx, k_yy, k_xy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))  # (m, m) each
        # Unbiased: the within-set sums leave out k(x_i, x_i).
        mmd = ((k_xx.sum() - k_xx.trace()) + (k_yy.sum() - k_yy.trace())) / (m * (m - 1)) - 2 * k_xy.mean()
        estimates.append(mmd)
    return float(torch.stack(estimates).mean())


def diversity(feats_per_recipe) -> float:
    """Mean pairwise L2 distance between features of images drawn for the same recipe, averaged over recipes.

    feats_per_recipe: a (R, K, F) tensor or a sequence of R (K_r, F) tensors, K_r >= 2. Every
    unordered pair counts once. 0 when each recipe's images are identical.
    """
    means = []
    for feats in feats_per_recipe:
        x = _features64(feats, "features of one recipe")
        if len(x) < 2:
            raise ValueError(f"diversity needs at least 2 images per recipe, got {len(x)}")
        distances = torch.cdist(x, x)  # (K, K), zero diagonal
        means.append(distances.sum() / (len(x) * (len(x) - 1)))
    if not means:
        raise ValueError("diversity needs at least one recipe")
    return float(torch.stack(means).mean())


def psnr(a: Images, b: Images) -> float:
    """Peak signal-to-noise ratio in dB of images in [-1, 1] (peak-to-peak 2): 10 log10(4 / MSE).

    The mean squared error runs over every pixel of the whole set, so a set scores as one image.
    Identical images give ``inf`` (``to_json`` writes it as null).
    """
    if a.shape != b.shape:
        raise ValueError(f"PSNR needs images of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    mse = float((a.double() - b.double()).square().mean())
    return math.inf if mse == 0 else 10 * math.log10(4.0 / mse)


# --------------------------------------------------------------------------- the artifact measure


def radial_power_spectrum(images: Images) -> torch.Tensor:
    """Radially averaged power spectrum of a set of images: (R,) float64 in dB, R = round(H / sqrt(2)) + 1.

    images: (N, C, H, W), square. Each channel's mean is removed (the DC term says how bright a
    picture is, not how it is drawn), then |FFT|^2 / (H W) is averaged over images and channels
    and over the frequencies whose distance to zero rounds to r, for r = 0 .. R - 1 (the corners,
    beyond H/2, included: a one-pixel checkerboard, what transposed convolutions leave, lives at
    the very corner, r = H / sqrt(2)). The power is averaged before the log, so the spectrum is that
    of the set, not a mean of per-image logs.
    """
    x = torch.as_tensor(images).detach().cpu().double()
    if x.dim() != 4 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"images must be (N, C, H, H), got {tuple(x.shape)}")
    n = x.shape[-1]
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs().square().mean(dim=(0, 1)) / (n * n)  # (H, W)
    k = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64)  # (H,) integer frequencies -H/2 .. H/2 - 1
    radius = torch.sqrt(k[:, None] ** 2 + k[None, :] ** 2).round().long().flatten()  # (H * W,)
    bins = int(radius.max()) + 1
    sums = torch.zeros(bins, dtype=torch.float64).index_add_(0, radius, power.flatten())
    counts = torch.zeros(bins, dtype=torch.float64).index_add_(0, radius, torch.ones_like(power.flatten()))
    return 10 * torch.log10(sums / counts + 1e-12)  # every bin has a frequency: counts > 0


def spectral_distance(images_a: Images, images_b: Images) -> float:
    """Root-mean-square difference in dB between the radial power spectra of two image sets.

    Both (N, C, H, H) at one size; the DC bin (r = 0, zero after mean removal) is left out, so the
    average runs over r = 1 .. round(H / sqrt(2)), every radius weighing the same. 0 for identical sets; two sets of kitchen renders with
    different seeds give the floor a generator can hope for.
    """
    if images_a.shape[1:] != images_b.shape[1:]:
        raise ValueError(f"spectra need images of one size, got {tuple(images_a.shape)} and {tuple(images_b.shape)}")
    a, b = radial_power_spectrum(images_a), radial_power_spectrum(images_b)
    return float((a[1:] - b[1:]).square().mean().sqrt())


def single_ingredient_scores(predicted: torch.Tensor, n_samples: int, vocabulary: Vocabulary) -> dict:
    """``predicted`` (V * n_samples, V) bool, the readings of ``single_ingredient_recipe(i)`` pizzas in
    vocabulary order: the share of each ingredient's pizzas that show it, their mean, how many reach 1/2."""
    found = predicted.view(len(vocabulary), n_samples, -1).float().mean(1)  # (V recipes, V ingredients)
    share = found.diagonal()  # (V,): ingredient i found on its own pizza
    return {"share": dict(zip(vocabulary.ids, share.tolist())), "mean": float(share.mean()),
            "recognised": int((share >= 0.5).sum()), "ingredients": len(vocabulary)}
