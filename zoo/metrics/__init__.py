"""Sample-quality measures and the feature extractors they use."""

from zoo.metrics.classifier import ImageClassifier, class_histogram, classes_covered, load_classifier

__all__ = ["ImageClassifier", "class_histogram", "classes_covered", "load_classifier"]
