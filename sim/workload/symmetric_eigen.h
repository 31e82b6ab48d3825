// Eigen-decomposition of small symmetric matrices (float64, d up to a few hundred): the fitted
// workload's key and query covariances (sim/workload/generators/fitted.cc) and inspect's
// effective rank of K (sim/inspect/inspect.h).
#pragma once

#include <cstddef>
#include <vector>

namespace hsr::sim {

// Eigenvalues of a symmetric d x d matrix (row-major, float64), cyclic Jacobi; descending.
// With `vectors`, also the unit eigenvectors, row i (d floats) for eigenvalue i.
std::vector<double> SymmetricEigenvalues(std::vector<double> a, size_t d,
                                         std::vector<double>* vectors = nullptr);

// Smallest k with (sum of the k largest eigenvalues) >= fraction * (sum of all); negatives as 0.
size_t ComponentsForEnergy(const std::vector<double>& eigenvalues_desc, double fraction);

}  // namespace hsr::sim
