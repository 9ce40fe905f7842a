"""Metrics that need no internet: a small judge network trained on the real data gives the features.

``Evaluator(real, judge)`` scores a recipe's samples: FID and KID in the judge's feature space,
improved precision/recall, modes covered and the KL divergence of the class histogram from uniform,
with the real-vs-real FID floor beside FID so the number can be read.
"""

from .evaluator import Evaluator
from .features import FeatureNet, feature_evaluator, get_feature_net, train_feature_net
from .judge import Judge, get_judge, train_judge
from .registry import EVALUATORS, evaluator_for, register_evaluator
from .samples import draw_samples
from .scores import (
    fid_from_features,
    kid_from_features,
    kid_within_terms,
    kl_from_uniform,
    knn_radii,
    mode_histogram,
    modes_covered,
    precision_recall,
)
from .stacked import ChannelJudge, StackedMnistEvaluator, stacked_mnist_evaluator
from .translation import TranslationEvaluator, translation_evaluator

register_evaluator("wikiart", feature_evaluator)
register_evaluator("stacked-mnist", stacked_mnist_evaluator)
register_evaluator("monet2photo", translation_evaluator)  # CycleGAN: scores translations

__all__ = ["EVALUATORS", "ChannelJudge", "FeatureNet", "StackedMnistEvaluator", "feature_evaluator",
           "get_feature_net", "register_evaluator", "stacked_mnist_evaluator", "train_feature_net",
           "TranslationEvaluator", "translation_evaluator", "draw_samples",
           "Evaluator", "Judge", "evaluator_for", "fid_from_features", "get_judge", "kid_from_features",
           "kid_within_terms", "kl_from_uniform", "knn_radii", "mode_histogram", "modes_covered", "precision_recall",
           "train_judge"]
