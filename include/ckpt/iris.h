// The Iris data set of TensorFlow's premade-estimator example: labelled
// examples and the CSV loader (src/data/iris.cc).
//
// Thread safety: the functions are thread-safe; the structs are values.
#ifndef CKPT_IRIS_H_
#define CKPT_IRIS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/status.h"

namespace ckpt {

// One labelled example: numeric features in a data set's feature order.
struct LabeledExample {
  std::vector<float> features;
  int64_t label = 0;
};

struct IrisDataSet {
  // "SepalLength", "SepalWidth", "PetalLength", "PetalWidth": the CSV column
  // order (the DNN's input layer sorts them by name).
  std::vector<std::string> feature_names;
  // From the header: {"setosa", "versicolor", "virginica"}.
  std::vector<std::string> class_names;
  std::vector<LabeledExample> examples;
};

// The Iris CSV column names, in file order (the last is the label).
const std::vector<std::string>& IrisColumnNames();

// Parses the Iris CSV layout of TensorFlow's premade-estimator example:
// a header "<rows>,<features>,<class names...>" (rows = number of data rows,
// features = 4), then rows "SepalLength,SepalWidth,PetalLength,PetalWidth,
// label" with an integer label in [0, number of classes). Numbers are
// parsed as float64 and stored as float32 (as pandas then TF do). Blank
// lines are skipped; "\r\n" line ends are accepted. Every error is
// InvalidArgument and names `filename`, the 1-based line and, for a field,
// the 1-based column and its name, e.g.
//   iris.csv:7: column 2 (SepalWidth): "abc" is not a number
//   iris.csv:9: expected 5 columns, got 4
//   iris.csv:3: column 5 (label): label 3 is out of range [0, 3)
//   iris.csv:1: bad header "120,4": expected "<rows>,4,<class names...>"
//   iris.csv: header declares 120 rows but the file has 119
Result<IrisDataSet> ParseIrisCsv(std::string_view contents, const std::string& filename);

// Reads `path` through `env` and parses it. NotFound/IoError from the Env
// pass through. REQUIRES: env non-null (InvalidArgument otherwise).
Result<IrisDataSet> LoadIrisCsv(Env* env, const std::string& path);

}  // namespace ckpt

#endif  // CKPT_IRIS_H_
