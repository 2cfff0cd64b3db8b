// Iris CSV parsing (the layout of TensorFlow's premade-estimator example).
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/iris.h"

namespace ckpt {
namespace {

constexpr int kNumFeatures = 4;

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    const size_t comma = line.find(',', start);
    if (comma == std::string_view::npos) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, comma - start));
    start = comma + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whole-field decimal number (finite). False if anything is left over.
bool ParseDouble(std::string_view field, double* out) {
  const std::string s(Trim(field));
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

// Whole-field decimal integer.
bool ParseInt(std::string_view field, int64_t* out) {
  const std::string s(Trim(field));
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (end != s.c_str() + s.size() || errno == ERANGE) return false;
  *out = v;
  return true;
}

std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() > kMax) return "\"" + std::string(s.substr(0, kMax)) + "...\"";
  return "\"" + std::string(s) + "\"";
}

}  // namespace

const std::vector<std::string>& IrisColumnNames() {
  static const auto* names = new std::vector<std::string>{
      "SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "label"};
  return *names;
}

Result<IrisDataSet> ParseIrisCsv(std::string_view contents, const std::string& filename) {
  const std::vector<std::string>& columns = IrisColumnNames();
  IrisDataSet data;
  data.feature_names.assign(columns.begin(), columns.begin() + kNumFeatures);

  int64_t declared_rows = -1;
  bool have_header = false;
  size_t pos = 0;
  int64_t line_no = 0;
  auto where = [&](int64_t line) { return filename + ":" + std::to_string(line) + ": "; };
  auto column = [&](int64_t line, size_t col) {
    return where(line) + "column " + std::to_string(col + 1) + " (" + columns[col] + "): ";
  };

  while (pos < contents.size()) {
    size_t eol = contents.find('\n', pos);
    if (eol == std::string_view::npos) eol = contents.size();
    std::string_view line = contents.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) continue;
    const std::vector<std::string_view> fields = SplitFields(line);

    if (!have_header) {
      have_header = true;
      int64_t features = 0;
      const std::string expected =
          "expected \"<rows>,4,<class names...>\" such as \"120,4,setosa,versicolor,virginica\"";
      if (fields.size() < 3 || !ParseInt(fields[0], &declared_rows) || declared_rows < 0 ||
          !ParseInt(fields[1], &features)) {
        return InvalidArgumentError(where(line_no) + "bad header " + Quote(line) + ": " +
                                    expected);
      }
      if (features != kNumFeatures) {
        return InvalidArgumentError(where(line_no) + "bad header " + Quote(line) +
                                    ": declares " + std::to_string(features) +
                                    " features; the Iris layout has 4 (" + expected + ")");
      }
      for (size_t i = 2; i < fields.size(); ++i) {
        const std::string_view name = Trim(fields[i]);
        if (name.empty()) {
          return InvalidArgumentError(where(line_no) + "bad header " + Quote(line) +
                                      ": class name " + std::to_string(i - 1) + " is empty");
        }
        data.class_names.emplace_back(name);
      }
      continue;
    }

    if (fields.size() != columns.size()) {
      return InvalidArgumentError(where(line_no) + "expected " + std::to_string(columns.size()) +
                                  " columns (SepalLength,SepalWidth,PetalLength,PetalWidth,"
                                  "label), got " + std::to_string(fields.size()) + ": " +
                                  Quote(line));
    }
    LabeledExample example;
    for (size_t c = 0; c < kNumFeatures; ++c) {
      double v = 0;
      if (!ParseDouble(fields[c], &v)) {
        return InvalidArgumentError(column(line_no, c) + Quote(fields[c]) +
                                    " is not a finite number");
      }
      example.features.push_back(static_cast<float>(v));
    }
    const size_t label_col = kNumFeatures;
    if (!ParseInt(fields[label_col], &example.label)) {
      return InvalidArgumentError(column(line_no, label_col) + Quote(fields[label_col]) +
                                  " is not an integer class id");
    }
    const int64_t classes = static_cast<int64_t>(data.class_names.size());
    if (example.label < 0 || example.label >= classes) {
      return InvalidArgumentError(column(line_no, label_col) + "label " +
                                  std::to_string(example.label) + " is out of range [0, " +
                                  std::to_string(classes) + ") for the header's classes");
    }
    data.examples.push_back(std::move(example));
  }

  if (!have_header) {
    return InvalidArgumentError(filename + ": empty file; expected a header line such as "
                                "\"120,4,setosa,versicolor,virginica\"");
  }
  if (static_cast<int64_t>(data.examples.size()) != declared_rows) {
    return InvalidArgumentError(filename + ": header declares " + std::to_string(declared_rows) +
                                " rows but the file has " + std::to_string(data.examples.size()));
  }
  return data;
}

Result<IrisDataSet> LoadIrisCsv(Env* env, const std::string& path) {
  if (env == nullptr) return InvalidArgumentError("LoadIrisCsv: null env");
  CKPT_ASSIGN_OR_RETURN(std::string contents, ReadFileToString(env, path));
  return ParseIrisCsv(contents, path);
}

}  // namespace ckpt
