"""Built-in preprocessing steps, the classic recipe in order: reshape, mean_subtraction,
normalize, pca, whiten, bias_trick (see :mod:`tuidl.engine.preprocess`)."""

from tuidl.engine.preprocess import PCA, BiasTrick, MeanSubtraction, Normalize, Reshape, Whitening
from tuidl.plugins import Component, Param, hookimpl


def _reshape(dtype):
    """Flatten each image to a row (N, D) and cast to float32, or float64 on request."""
    return Reshape(dtype)


def _mean_subtraction(mode):
    """Subtract the training rows' mean: per feature (the mean image) or one global number.

    Fitted on training rows only; validation and test rows get the training mean.
    """
    return MeanSubtraction(mode)


def _normalize(eps):
    """Divide each feature by its training std (features with std <= eps are left as is).

    Only needed when features have different scales; image pixels usually do not.
    """
    return Normalize(eps)


def _pca(k, variance, method):
    """Project onto the top-k principal components of the training covariance.

    With variance set, keep the fewest components explaining that fraction instead.
    k larger than min(N, D) is an error.
    """
    return PCA(k=k, variance=variance, method=method)


def _whiten(eps):
    """Divide PCA-rotated data by sqrt(eigenvalue + eps): unit variance per component.

    Must come right after pca.
    """
    return Whitening(eps)


def _bias_trick():
    """Append a column of ones, so a linear model's bias is one more weight."""
    return BiasTrick()


@hookimpl
def register_preprocessors(register):
    register(
        Component(
            "preprocessor",
            "reshape",
            "Flatten images to rows (N, D) and cast to float",
            _reshape,
            (
                Param(
                    "dtype",
                    "choice",
                    "float32",
                    "floating type of the rows",
                    choices=("float32", "float64"),
                ),
            ),
        )
    )
    register(
        Component(
            "preprocessor",
            "mean_subtraction",
            "Subtract the training mean image (or one global mean)",
            _mean_subtraction,
            (
                Param(
                    "mode",
                    "choice",
                    "per_feature",
                    "per_feature: the mean image; global: one mean over all values",
                    choices=("per_feature", "global"),
                ),
            ),
        )
    )
    register(
        Component(
            "preprocessor",
            "normalize",
            "Divide each feature by its training standard deviation",
            _normalize,
            (Param("eps", "float", 1e-8, "std at or below this counts as zero", min=0.0),),
        )
    )
    register(
        Component(
            "preprocessor",
            "pca",
            "PCA: keep the top-k components of the training covariance",
            _pca,
            (
                Param("k", "int", 100, "number of components to keep", min=1),
                Param(
                    "variance",
                    "float",
                    None,
                    "keep the fewest components explaining this fraction; overrides k",
                    min=1e-6,
                    max=1.0,
                    nullable=True,
                ),
                Param(
                    "method",
                    "choice",
                    "auto",
                    "eigh of the covariance, svd of the centred rows, or auto (svd when N < D)",
                    choices=("auto", "eigh", "svd"),
                ),
            ),
        )
    )
    register(
        Component(
            "preprocessor",
            "whiten",
            "Whitening: divide PCA components by sqrt(eigenvalue + eps)",
            _whiten,
            (Param("eps", "float", 1e-5, "added to each eigenvalue before the sqrt", min=0.0),),
        )
    )
    register(
        Component(
            "preprocessor", "bias_trick", "Append a column of ones (the bias trick)", _bias_trick
        )
    )
