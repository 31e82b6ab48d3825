// CSV form of result rows (docs/design.md §4): the same keys and values as the JSON rows of
// sim/bench/result_row.h, one column per key, RFC 4180 quoting (a field with a comma, quote or
// newline is quoted, quotes doubled); null is an empty field, true/false stay words, numbers
// are written as in the JSON. `hsr sweep` keeps DIR/results.csv beside DIR/results.jsonl.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hsr::sim {

// Header line (with '\n') of the given columns.
std::string CsvHeader(const std::vector<std::string>& columns);

// One line (with '\n'): row[column] for each column; a missing key is an empty field.
std::string CsvLine(const nlohmann::ordered_json& row, const std::vector<std::string>& columns);

}  // namespace hsr::sim
