"""Built-in models: k-nearest neighbours, a linear classifier and a fully-connected net."""

from tuidl.engine.models import DTYPES, FullyConnectedNet, LinearClassifier
from tuidl.plugins import Component, Param, hookimpl

_DTYPE = Param(
    "dtype", "choice", "float32", "floating-point type of params and activations", choices=DTYPES
)


def _reg(default: float) -> Param:
    return Param(
        "reg",
        "float",
        default,
        "L2 strength: adds reg·ΣW² over weights (not biases), as in CS231n assignment 1",
        min=0.0,
        simpler="higher",
    )


def _knn(k, distance, chunk_size):
    """k-nearest neighbours: each test row takes the majority label of its k closest rows.

    Distances are computed fully vectorized, in blocks of test rows so memory stays bounded
    (chunk_size rows, or sized automatically when it is 0). Vote ties go to the smallest
    label; distance ties keep training order.
    """
    from tuidl.engine.knn import KNN  # lazily: kNN lives in its own module

    return KNN(k=k, distance=distance, chunk_size=chunk_size)


def _linear(reg, dtype):
    """Linear classifier: scores = X·W + b, trained with any loss (svm, softmax, ...).

    With the svm loss this is the multiclass SVM, with softmax the softmax classifier.
    """
    return LinearClassifier(reg=reg, dtype=dtype)


def _fc_net(hidden_sizes, batchnorm, dropout, reg, dtype):
    """Fully-connected net: affine → [batchnorm] → ReLU → [dropout] per hidden layer, then affine.

    Any loss and initializer. Params are W1, b1, ... (gamma1, beta1, ... with batchnorm).
    """
    return FullyConnectedNet(
        hidden_sizes=hidden_sizes, batchnorm=batchnorm, dropout=dropout, reg=reg, dtype=dtype
    )


@hookimpl
def register_models(register):
    register(
        Component(
            "model",
            "knn",
            "k-nearest neighbours with L2 or L1 distance",
            _knn,
            (
                Param("k", "int", 1, "number of neighbours that vote", min=1, simpler="higher"),
                Param("distance", "choice", "l2", "distance metric", choices=("l2", "l1")),
                Param(
                    "chunk_size",
                    "int",
                    0,
                    "test rows per distance block; 0 = automatic (blocks up to 256 MiB)",
                    min=0,
                ),
            ),
            # one distance computation serves every k of a fold (KNN.predict_many)
            extra={"predicts_many": "k"},
        )
    )
    register(
        Component(
            "model",
            "linear",
            "Linear classifier X·W + b (SVM, softmax, ...)",
            _linear,
            (_reg(1e-3), _DTYPE),
        )
    )
    register(
        Component(
            "model",
            "fc_net",
            "Fully-connected ReLU net with optional batchnorm and dropout",
            _fc_net,
            (
                Param(
                    "hidden_sizes",
                    "list",
                    [100],
                    "width of each hidden layer",
                    min=1,
                    item_type="int",
                    simpler="lower",
                ),
                Param("batchnorm", "bool", False, "batch normalization after each hidden affine"),
                Param(
                    "dropout",
                    "float",
                    1.0,
                    "dropout keep probability p per hidden layer (1 = no dropout)",
                    min=0.001,
                    max=1.0,
                    simpler="lower",  # a lower keep probability regularizes more
                ),
                _reg(1e-3),
                _DTYPE,
            ),
        )
    )
