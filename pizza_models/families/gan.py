"""GAN generators and discriminators: the original article's DCGAN ("article") and a modern pair.

- article: the article's unconditional DCGAN, 512-d uniform noise in, a dense layer and three
  5x5 transposed convolutions out; its discriminator is a plain conv net.
- modern: a BigGAN-style residual generator with conditional batch norm driven by the recipe,
  and a spectrally normalised projection discriminator (Miyato & Koyama 2018).

Both discriminators return logits (the sigmoid lives in the loss) and their penultimate
features, which the CVAE-GAN matches.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import PizzaModel
from .blocks import UPSAMPLING, DBlock, GBlock, down_widths, latent_noise, maybe_sn, stages
from ..recipe import DEFAULT_VOCABULARY, RecipeConditioned, Vocabulary

ARCHS = ("article", "modern")
OLD_ARCHS = {"seed": "article"}  # the article's networks' first name, in configs written before the rename
EMBED_DIM = 128  # width of the recipe embedding that drives every conditional batch norm


@dataclass(frozen=True)
class GANConfig(RecipeConditioned):
    """Shape of a GAN; the generator's config.json. ``g_channels``/``d_channels`` are modern widths."""

    family: str = "gan"
    arch: str = "modern"
    image_size: int = 64
    latent_dim: int = 128
    encoding: str = "counts"
    ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids
    g_channels: int = 32
    d_channels: int = 32
    conditional: bool = True
    upsample: str = "nearest"  # the modern generator's x2 resize (layers.UPSAMPLING)

    def __post_init__(self) -> None:
        self._check_recipe_fields()
        object.__setattr__(self, "arch", OLD_ARCHS.get(self.arch, self.arch))
        if self.arch not in ARCHS:
            raise ValueError(f"unknown GAN arch {self.arch!r}; use one of {ARCHS}")
        if self.upsample not in UPSAMPLING:
            raise ValueError(f"unknown upsampling {self.upsample!r}; use one of {UPSAMPLING}")
        if self.arch == "article" and self.image_size % 8:
            raise ValueError(f"the article's DCGAN needs an image size divisible by 8, got {self.image_size}")
        if self.arch == "modern":
            stages(self.image_size)

    @classmethod
    def article(cls, image_size: int = 32, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> "GANConfig":
        """The article's DCGAN: unconditional, 512-d uniform noise (slot code kept for the app's forms)."""
        return cls(arch="article", image_size=image_size, latent_dim=512, encoding="slot_code",
                   ingredients=vocabulary.ids, conditional=False)

    @classmethod
    def modern(
        cls, image_size: int = 64, vocabulary: Vocabulary = DEFAULT_VOCABULARY,
        latent_dim: int = 128, g_channels: int = 32, d_channels: int = 32, upsample: str = "nearest",
    ) -> "GANConfig":
        """Residual conditional generator and projection discriminator on ingredient counts."""
        return cls(arch="modern", image_size=image_size, latent_dim=latent_dim, encoding="counts",
                   ingredients=vocabulary.ids, g_channels=g_channels, d_channels=d_channels, conditional=True,
                   upsample=upsample)


class ArticleGenerator(nn.Module):
    """The article's DCGAN generator: dense -> 256 x H/8 x W/8 -> three stride-2 5x5 deconvs -> tanh."""

    def __init__(self, latent_dim: int, image_size: int):
        super().__init__()
        self.side = image_size // 8
        self.dense = nn.Linear(latent_dim, 256 * self.side**2)
        self.deconvs = nn.ModuleList(
            nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)
            for cin, cout in ((256, 256), (256, 128), (128, 64))
        )
        self.to_rgb = nn.Conv2d(64, 3, 5, padding=2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # z (B, latent) -> (B, 3, H, W) in [-1, 1]
        h = F.relu(self.dense(z)).view(-1, 256, self.side, self.side)
        for deconv in self.deconvs:
            h = F.relu(deconv(h))
        return torch.tanh(self.to_rgb(h))


class ModernGenerator(nn.Module):
    """Residual generator 4x4 -> image_size; the recipe enters the input and every batch norm.

    Widths run 8c, 4c, 2c, c over the last four blocks (clamped at 8c for larger images).
    Also the decoder of the modern CVAE.
    """

    def __init__(self, latent_dim: int, cond_dim: int, image_size: int, channels: int, upsample: str = "nearest"):
        super().__init__()
        n = stages(image_size)
        widths = [8 * channels] + [min(8 * channels, channels * 2 ** (n - 1 - i)) for i in range(n)]
        self.top = widths[0]
        # A linear embedding of counts is a portion-weighted sum of per-ingredient vectors.
        self.embed = nn.Linear(cond_dim, EMBED_DIM)
        self.input = nn.Linear(latent_dim + EMBED_DIM, self.top * 16)
        self.blocks = nn.ModuleList(GBlock(cin, cout, EMBED_DIM, upsample) for cin, cout in zip(widths, widths[1:]))
        self.to_rgb = nn.Sequential(
            nn.BatchNorm2d(widths[-1]), nn.ReLU(), nn.Conv2d(widths[-1], 3, 3, padding=1), nn.Tanh()
        )

    def forward(self, z: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        # z (B, latent), cond (B, cond_dim) -> (B, 3, H, W) in [-1, 1]
        e = self.embed(cond)  # (B, EMBED_DIM)
        h = self.input(torch.cat([z, e], dim=1)).view(-1, self.top, 4, 4)
        for block in self.blocks:
            h = block(h, e)
        return self.to_rgb(h)


class Generator(PizzaModel):
    """Noise (and, if conditional, a recipe) to a pizza image (B, 3, H, W) in [-1, 1]."""

    family = "gan"
    draws = True

    def __init__(self, config: GANConfig):
        super().__init__()
        if config.arch == "article":
            self.net = ArticleGenerator(config.latent_dim, config.image_size)
        else:
            self.net = ModernGenerator(config.latent_dim, config.cond_dim, config.image_size, config.g_channels,
                                       config.upsample)

    def forward(self, z: torch.Tensor, cond: "torch.Tensor | None" = None) -> torch.Tensor:
        """z (B, latent_dim), cond (B, cond_dim); cond is ignored by unconditional models."""
        if isinstance(self.net, ArticleGenerator):
            return self.net(z)
        if cond is None or not self.config.conditional:
            # Unconditional: the embedding reduces to its learned bias.
            cond = z.new_zeros(z.shape[0], self.config.cond_dim)
        return self.net(z, cond)

    def draw(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
        """Pizzas (B, 3, H, W) in [-1, 1] from latents (B, latent_dim) and recipe codes (B, cond_dim)."""
        return self(z, codes)

    def sample_latent(
        self, n: int, generator: "torch.Generator | None" = None, scale: float = 1.0,
        device: "torch.device | str | None" = None,
    ) -> torch.Tensor:
        """(n, latent_dim) noise: uniform in [-1, 1] for the article's DCGAN (as it drew them), normal otherwise."""
        device = device or next(self.parameters()).device
        return latent_noise(n, self.config.latent_dim, self.config.arch == "article", generator, scale, device)


class ArticleDiscriminator(nn.Module):
    """The article's discriminator: three 5x5 conv-LeakyReLU-maxpool stages, dense 2048, dense 1."""

    def __init__(self, image_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in ((3, 128), (128, 256), (256, 512)):
            layers += [nn.Conv2d(cin, cout, 5, padding=2), nn.LeakyReLU(0.2), nn.MaxPool2d(2)]
        self.convs = nn.Sequential(*layers, nn.Flatten())
        self.dense = nn.Linear(512 * (image_size // 8) ** 2, 2048)
        self.logit = nn.Linear(2048, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # x (B, 3, H, W) -> logits (B,), features (B, 512 H/8 W/8): the flattened convolutions, which
        # the article's CVAE-GAN matches (8192 values at 32 px)
        features = self.convs(x)
        return self.logit(F.leaky_relu(self.dense(features), 0.2)).squeeze(1), features


class ProjectionDiscriminator(nn.Module):
    """Spectrally normalised residual discriminator with a projection of the recipe embedding.

    logit = w . h + <embed(cond), h>, h the sum-pooled last features: a bias-free linear
    embedding makes the projection a portion-weighted sum of per-ingredient scores.
    """

    def __init__(self, cond_dim: int, image_size: int, channels: int, conditional: bool = True):
        super().__init__()
        n = stages(image_size)
        widths = down_widths(channels, n)
        self.blocks = nn.Sequential(*(
            DBlock(cin, cout, preactivation=i > 0) for i, (cin, cout) in enumerate(zip(widths, widths[1:]))
        ))
        self.linear = maybe_sn(nn.Linear(widths[-1], 1), True)
        self.embed = (
            maybe_sn(nn.Linear(cond_dim, widths[-1], bias=False), True) if conditional else None
        )

    def forward(self, x: torch.Tensor, cond: "torch.Tensor | None" = None) -> tuple[torch.Tensor, torch.Tensor]:
        # x (B, 3, H, W), cond (B, cond_dim) -> logits (B,), h (B, 8c)
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # global sum pooling
        logits = self.linear(h).squeeze(1)
        if self.embed is not None and cond is not None:
            logits = logits + (self.embed(cond) * h).sum(dim=1)
        return logits, h


class Discriminator(PizzaModel):
    """Real/fake critic for a ``GANConfig``; returns (logits (B,), features (B, F))."""

    family = "discriminator"

    def __init__(self, config: GANConfig):
        super().__init__()
        if config.arch == "article":
            self.net = ArticleDiscriminator(config.image_size)
        else:
            self.net = ProjectionDiscriminator(config.cond_dim, config.image_size, config.d_channels, config.conditional)

    def forward(self, x: torch.Tensor, cond: "torch.Tensor | None" = None) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 3, H, W) in [-1, 1], cond (B, cond_dim); the article's critic ignores cond."""
        if isinstance(self.net, ArticleDiscriminator):
            return self.net(x)
        return self.net(x, cond)
