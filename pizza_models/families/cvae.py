"""Conditional VAE: the original experiment's two Keras models ("article1", "article2") and a modern one.

The article's models, layer for layer (channels-first), on its 261-value slot code:

- article1 joins the recipe after the convolutions: to the flattened image features in the encoder
  and to z in the decoder;
- article2 tiles the recipe code into one extra image plane next to the first convolution's output.

Both decode through dense layers to a 16 x H/4 x W/4 map and end in a sigmoid. The modern CVAE
encodes with a strided conv stack and decodes with the modern GAN generator, so that the same
decoder can be trained adversarially (CVAE-GAN, Bao et al. 2017).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .gan import ModernGenerator
from ..hub import PizzaModel
from .blocks import UPSAMPLING, down_widths, latent_noise, stages
from ..recipe import DEFAULT_VOCABULARY, RecipeConditioned, Vocabulary

ARCHS = ("article1", "article2", "modern")
OLD_ARCHS = {"seed1": "article1", "seed2": "article2"}  # the article's networks' first names, in older configs


@dataclass(frozen=True)
class CVAEConfig(RecipeConditioned):
    """Shape of a CVAE; its config.json. ``family`` is "cvae", or "cvaegan" for a ``CVAEGAN``; ``channels``
    is the modern width; ``training`` is informational (it named the CVAE-GAN before it had a family)."""

    family: str = "cvae"
    arch: str = "modern"
    image_size: int = 64
    latent_dim: int = 128
    encoding: str = "counts"
    ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids
    channels: int = 32
    training: str = "cvae"  # "cvaegan" when the decoder was also trained against a discriminator
    upsample: str = "nearest"  # the modern decoder's x2 resize (layers.UPSAMPLING)

    def __post_init__(self) -> None:
        self._check_recipe_fields()
        object.__setattr__(self, "arch", OLD_ARCHS.get(self.arch, self.arch))
        if self.arch not in ARCHS:
            raise ValueError(f"unknown CVAE arch {self.arch!r}; use one of {ARCHS}")
        if self.upsample not in UPSAMPLING:
            raise ValueError(f"unknown upsampling {self.upsample!r}; use one of {UPSAMPLING}")
        if self.arch != "modern" and self.image_size % 4:
            raise ValueError(f"the article's CVAE needs an image size divisible by 4, got {self.image_size}")
        if self.arch == "modern":
            stages(self.image_size)

    @classmethod
    def article(
        cls, method: int = 1, image_size: int = 32, vocabulary: Vocabulary = DEFAULT_VOCABULARY, latent_dim: int = 512,
    ) -> "CVAEConfig":
        """The original experiment's model, method 1 or 2: slot code, a 512-d latent (64 in its smaller run)."""
        if method not in (1, 2):
            raise ValueError(f"the original experiment has methods 1 and 2, not {method}")
        return cls(arch=f"article{method}", image_size=image_size, latent_dim=latent_dim, encoding="slot_code",
                   ingredients=vocabulary.ids)

    @classmethod
    def modern(
        cls, image_size: int = 64, vocabulary: Vocabulary = DEFAULT_VOCABULARY, latent_dim: int = 128, channels: int = 32,
        upsample: str = "nearest",
    ) -> "CVAEConfig":
        """Strided conv encoder and residual conditional decoder on ingredient counts."""
        return cls(arch="modern", image_size=image_size, latent_dim=latent_dim, encoding="counts",
                   ingredients=vocabulary.ids, channels=channels, upsample=upsample)


def tile_plane(code: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Method 2's recipe plane: the code repeated and cut to fill (B, 1, height, width)."""
    repeats = -(-height * width // code.shape[1])  # ceil
    return code.repeat(1, repeats)[:, : height * width].view(-1, 1, height, width)


class ArticleEncoder(nn.Module):
    """The article's encoder: conv3x3(32)-pool-conv3x3(16)-pool-dense 1024, mean and log-variance heads."""

    def __init__(self, method: int, image_size: int, cond_dim: int, latent_dim: int):
        super().__init__()
        self.method = method
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32 + (method == 2), 16, 3, padding=1)
        flat = 16 * (image_size // 4) ** 2
        self.dense = nn.Linear(flat + (cond_dim if method == 1 else 0), 1024)
        self.mean = nn.Linear(1024, latent_dim)
        self.logvar = nn.Linear(1024, latent_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (B, 3, H, W) in [-1, 1], cond (B, cond_dim) -> mu, logvar (B, latent)
        h = F.relu(self.conv1((x + 1) / 2))  # (B, 32, H, W); the original fed [0, 1] pixels
        if self.method == 2:
            h = torch.cat([h, tile_plane(cond, h.shape[2], h.shape[3])], dim=1)  # (B, 33, H, W)
        h = F.max_pool2d(F.relu(self.conv2(F.max_pool2d(h, 2))), 2).flatten(1)  # (B, 16 * H/4 * W/4)
        if self.method == 1:
            h = torch.cat([h, cond], dim=1)
        h = F.relu(self.dense(h))
        return self.mean(h), self.logvar(h)


class ArticleDecoder(nn.Module):
    """The article's decoder: dense 1024, dense to 16 x H/4 x W/4, conv-up-conv-up-conv, sigmoid."""

    def __init__(self, image_size: int, cond_dim: int, latent_dim: int):
        super().__init__()
        self.side = image_size // 4
        self.dense1 = nn.Linear(latent_dim + cond_dim, 1024)
        self.dense2 = nn.Linear(1024, 16 * self.side**2)
        self.conv1 = nn.Conv2d(16, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 3, 3, padding=1)

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # z (B, latent), cond (B, cond_dim) -> (B, 3, H, W) in [0, 1]
        h = F.relu(self.dense2(F.relu(self.dense1(torch.cat([z, cond], dim=1)))))
        h = F.relu(self.conv1(h.view(-1, 16, self.side, self.side)))
        h = F.relu(self.conv2(F.interpolate(h, scale_factor=2, mode="nearest")))
        return torch.sigmoid(self.conv3(F.interpolate(h, scale_factor=2, mode="nearest")))


class ModernEncoder(nn.Module):
    """Stride-2 4x4 convs with BatchNorm and LeakyReLU down to 8c x 4 x 4; the recipe joins the flat features."""

    def __init__(self, image_size: int, cond_dim: int, latent_dim: int, channels: int):
        super().__init__()
        n = stages(image_size)
        widths = down_widths(channels, n)
        layers: list[nn.Module] = []
        for i, (cin, cout) in enumerate(zip(widths, widths[1:])):
            layers.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:  # no normalisation on the first layer, as in DCGAN
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2))
        self.convs = nn.Sequential(*layers, nn.Flatten())
        flat = widths[-1] * 16 + cond_dim
        self.mean = nn.Linear(flat, latent_dim)
        self.logvar = nn.Linear(flat, latent_dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (B, 3, H, W), cond (B, cond_dim) -> mu, logvar (B, latent)
        h = torch.cat([self.convs(x), cond], dim=1)  # (B, 8c * 16 + cond_dim)
        return self.mean(h), self.logvar(h)


class CVAE(PizzaModel):
    """Conditional VAE: ``encode(x, cond) -> (mu, logvar)``, ``decode(z, cond) -> image in [-1, 1]``."""

    family = "cvae"
    draws = True
    encodes = True

    def __init__(self, config: CVAEConfig):
        super().__init__()
        if config.arch == "modern":
            self.encoder = ModernEncoder(config.image_size, config.cond_dim, config.latent_dim, config.channels)
            self.decoder = ModernGenerator(config.latent_dim, config.cond_dim, config.image_size, config.channels,
                                           config.upsample)
        else:
            method = int(config.arch[-1])
            self.encoder = ArticleEncoder(method, config.image_size, config.cond_dim, config.latent_dim)
            self.decoder = ArticleDecoder(config.image_size, config.cond_dim, config.latent_dim)

    def encode(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 3, H, W) in [-1, 1], cond (B, cond_dim) -> posterior mean and log-variance (B, latent_dim)."""
        return self.encoder(x, cond)

    def decode(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim), cond (B, cond_dim) -> image (B, 3, H, W) in [-1, 1]."""
        image = self.decoder(z, cond)
        return image * 2 - 1 if isinstance(self.decoder, ArticleDecoder) else image

    def draw(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Pizzas (B, 3, H, W) in [-1, 1] from latents (B, latent_dim) and recipe codes (B, cond_dim)."""
        return self.decode(z, codes)

    def restyle(
        self, x: torch.Tensor, source: torch.Tensor, target: torch.Tensor, noise: float = 0.0,
        generator: "torch.Generator | None" = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode pictures x (B, 3, H, W) with their own recipe codes ``source`` (B, cond_dim), decode
        with ``target``: (reconstruction, restyled). ``noise`` 0 decodes the posterior mean."""
        mu, logvar = self.encode(x, source)
        eps = torch.randn(mu.shape, generator=generator).to(mu.device)
        z = mu + noise * eps * (0.5 * logvar.float()).exp()
        return self.decode(torch.cat([z, z]), torch.cat([source, target])).chunk(2)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruct through a reparameterised posterior sample: (recon, mu, logvar)."""
        mu, logvar = self.encode(x, cond)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z, cond), mu, logvar

    def sample_latent(
        self, n: int, generator: "torch.Generator | None" = None, scale: float = 1.0,
        device: "torch.device | str | None" = None,
    ) -> torch.Tensor:
        """(n, latent_dim) draws from the standard normal prior, times ``scale``."""
        device = device or next(self.parameters()).device
        return latent_noise(n, self.config.latent_dim, False, generator, scale, device)


class CVAEGAN(CVAE):
    """The CVAE-GAN of Bao et al. 2017: a CVAE whose decoder also learned against a discriminator and
    an ingredient classifier. The networks are the CVAE's; the family is its own, so that a checkpoint
    says how it was trained (configs written before, ``family: cvae`` with ``training: cvaegan``,
    still load as ``CVAE``)."""

    family = "cvaegan"

    def __init__(self, config: CVAEConfig):
        if config.family != self.family:
            raise ValueError(f"a CVAE-GAN is built from a config of its family: CVAEConfig(family={self.family!r}, ...), "
                             f"got {config.family!r}")
        super().__init__(config)
