# Transitional: the Gibbs package is being split; it imports from here.
from ..models.conjugate import NormalMarginal, thin_svd_from_gram  # noqa: F401
