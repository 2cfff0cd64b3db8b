// Where `ckpt run` and `ckpt graph` take a graph from: a `.meta` file, a
// GraphDef (text `.pbtxt`/`.pbtext`/`.txt`, binary `.pb`), or a SavedModel
// directory (its `saved_model.pb`, chosen by tags).
//
// The kind is chosen by the path: a directory, or a file named
// `saved_model.pb`, is a SavedModel; `.pbtxt`, `.pbtext`, `.txt` a text
// GraphDef; `.pb` a binary GraphDef; anything else a binary MetaGraphDef.
//
// Thread safety: the functions are reentrant; they share no state.
#ifndef CKPT_TOOLS_GRAPH_SOURCE_H_
#define CKPT_TOOLS_GRAPH_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "ckpt/env.h"
#include "ckpt/graph_import.h"
#include "ckpt/status.h"

namespace ckpt::tools {

struct GraphSource {
  enum class Kind { kMetaGraph, kGraphDef, kSavedModel };
  Kind kind = Kind::kMetaGraph;
  // The file (.meta, GraphDef) or the SavedModel directory.
  std::string path;
  // SavedModel tags (default {"serve"}).
  std::vector<std::string> tags = {"serve"};
};

// The kind a path denotes (see above); `saved_model.pb` gives its directory.
GraphSource GraphSourceForPath(Env* env, const std::string& path);

// Imports the graph (a kGraphDef source through ImportGraphDef: text for
// ".pbtxt"/".txt", else binary, else text). NotFound for a missing file; DataLoss for one that
// does not parse; the import's errors (graph_import.h).
Result<std::shared_ptr<const ImportedGraph>> LoadGraph(Env* env, const GraphSource& source);

}  // namespace ckpt::tools

#endif  // CKPT_TOOLS_GRAPH_SOURCE_H_
