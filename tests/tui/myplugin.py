"""A third-party-style plugin used by the TUI tests: its components must get forms with no UI
code. ``toy_knn`` is a non-learnable model (so loss/optimizer/training are disabled for it)."""

from tuidl.plugins import Component, Param, hookimpl


class FancyScale:
    """Multiply every feature by ``factor`` (a stand-in preprocessing step)."""

    def __init__(self, factor, mode, enabled, tags):
        self.factor, self.mode, self.enabled, self.tags = factor, mode, enabled, tags

    def fit(self, X):
        return self

    def transform(self, X):
        return X * self.factor

    def output_shape(self, input_shape):
        return tuple(input_shape)


class ToyKNN:
    learnable = False

    def __init__(self, k):
        self.k = k


@hookimpl
def register_preprocessors(register):
    register(
        Component(
            "preprocessor",
            "fancy_scale",
            "Scale every feature by a factor (test plugin)",
            FancyScale,
            (
                Param("factor", "float", 2.0, "the factor", min=0.0, max=10.0),
                Param("mode", "choice", "fast", "how to scale", choices=("fast", "exact")),
                Param("enabled", "bool", True, "whether it scales at all"),
                Param("tags", "list", [1, 2], "some ints", item_type="int"),
            ),
        )
    )


@hookimpl
def register_models(register):
    register(
        Component(
            "model",
            "toy_knn",
            "A non-learnable toy model (test plugin)",
            ToyKNN,
            (Param("k", "int", 3, "neighbours", min=1),),
            extra={"learnable": False},
        )
    )
