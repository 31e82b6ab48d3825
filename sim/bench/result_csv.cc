#include "sim/bench/result_csv.h"

namespace hsr::sim {
namespace {

std::string Field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string CsvHeader(const std::vector<std::string>& columns) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) line += ",";
    line += Field(columns[i]);
  }
  return line + "\n";
}

std::string CsvLine(const nlohmann::ordered_json& row, const std::vector<std::string>& columns) {
  std::string line;
  for (size_t i = 0; i < columns.size(); ++i) {
    if (i) line += ",";
    const auto it = row.find(columns[i]);
    if (it == row.end() || it->is_null()) continue;
    line += Field(it->is_string() ? it->get<std::string>() : it->dump());
  }
  return line + "\n";
}

}  // namespace hsr::sim
