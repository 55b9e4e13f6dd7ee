"""Built-in weight initializers: small random, calibrated 1/sqrt(n) and He sqrt(2/n)."""

from tuidl.engine.init import Calibrated, He, SmallRandom
from tuidl.plugins import Component, Param, hookimpl

_BIAS = Param(
    "bias",
    "float",
    0.0,
    "constant every bias starts at (0 is standard; a small positive value is sometimes used)",
    min=-1.0,
    max=1.0,
)


def _small_random(scale: float, bias: float) -> SmallRandom:
    """Weights scale·randn(fan_in, fan_out), 0.01 by default.

    Fine for shallow nets; in deep nets the activations shrink towards zero layer by layer.
    """
    return SmallRandom(scale, bias)


def _calibrated(bias: float) -> Calibrated:
    """Weights randn(fan_in, fan_out) / sqrt(fan_in).

    Calibrating the variance keeps each unit's output distribution close to its input's,
    which usually speeds up convergence.
    """
    return Calibrated(bias)


def _he(bias: float) -> He:
    """Weights randn(fan_in, fan_out) · sqrt(2 / fan_in), recommended for ReLU units."""
    return He(bias)


@hookimpl
def register_initializers(register):
    scale = Param("scale", "float", 0.01, "standard deviation of the weights", min=0.0)
    register(
        Component(
            "initializer",
            "small_random",
            "Small random weights, scale·randn",
            _small_random,
            (scale, _BIAS),
        )
    )
    register(
        Component(
            "initializer",
            "calibrated",
            "Variance-calibrated weights, randn/sqrt(fan_in)",
            _calibrated,
            (_BIAS,),
        )
    )
    register(
        Component("initializer", "he", "He init for ReLU nets, randn·sqrt(2/fan_in)", _he, (_BIAS,))
    )
