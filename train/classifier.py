"""Training the ingredient classifier: the app's recipe guesser, or a judge of the evaluation.

A multi-label classifier of the ingredients a pizza shows, trained with binary cross-entropy on
kitchen renders (or photos) with their exact recipes.
"""

from dataclasses import dataclass
from typing import Iterator, Optional

from pizza_models import losses
from pizza_models.families.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.recipe import Vocabulary

from .common import Batch, Setup, Trainer, Update, adam, presence, register, unwrap
from .hyper import Hyper, knob


@dataclass(frozen=True, kw_only=True)
class ClassifierHyper(Hyper):
    """The classifier's options."""

    arch: str = knob("vgg", "classifier architecture", ("vgg", "resnet"))


PRESETS = {
    "article": dict(image_size=32, batch_size=64, lr=1e-3, betas=(0.9, 0.999)),  # Keras' Adam, as the article's runs
    "modern": dict(batch_size=64, lr=2e-3, betas=(0.9, 0.999)),
}


def build_classifier(hp: ClassifierHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
    """The classifier and its Adam."""
    config = ClassifierConfig(image_size=hp.image_size, ingredients=vocabulary.ids, channels=hp.channels, arch=hp.arch)
    nets = {"classifier": IngredientClassifier(config)}
    return Setup(nets, adam(hp, nets, {"classifier": hp.lr}), classifier_step, lambda: nets["classifier"])


def classifier_step(nets: dict, batch: Batch, hp: ClassifierHyper) -> Iterator[Update]:
    """Multi-label cross-entropy of the ingredient classifier on one batch."""
    classifier = nets["classifier"]
    target = presence(batch.code, len(unwrap(classifier).config.vocabulary))
    logits = classifier(batch.x)
    loss = losses.multilabel_bce(logits, target)
    accuracy = ((logits > 0).float() == target).float().mean()
    yield Update("classifier", loss, {"loss": loss, "label_accuracy": accuracy})


TRAINER = register(Trainer("classifier", ClassifierHyper, PRESETS, build_classifier))
