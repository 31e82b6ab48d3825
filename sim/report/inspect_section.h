// `hsr report`: the section "Keys needed for softmax err=E, per head" from the DIR/inspect/*.json
// files an `hsr sweep` writes for its recorded and fitted workloads (sim/sweep/inspect_files.h;
// the JSON of `hsr inspect --format json`: heads[].keys_for_err {err, tau, sketch, engine, true}
// as fractions of the visible keys). Tests: sim/report/report_test.cc.
#pragma once

#include <string>

#include "sim/report/rows.h"

namespace hsr::sim {

// Appends DIR/inspect/*.json (sorted by name) to out.inspections. Shard folders of one sweep
// write the same names: a name already read is skipped. A file that is not a JSON object with a
// "heads" array is a warning, not an error.
void ReadInspectFiles(const std::string& dir, ResultSet& out);

// "## Keys needed for softmax err=1e-3, per head\n..." (one table row per file and head), then,
// when the files carry fitted_checks, "### Fitted workloads vs their recording": each fitted
// model's agreement with its recording at the recording's n and how far the rows drawn from it
// extrapolate (largest n / recorded n). "" when there are no inspect files.
std::string InspectSection(const ResultSet& set);

}  // namespace hsr::sim
