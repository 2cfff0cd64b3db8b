#include "graph_source.h"

#include <string>
#include <utility>

#include "ckpt/meta_graph.h"

namespace ckpt::tools {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

GraphSource GraphSourceForPath(Env* env, const std::string& path) {
  GraphSource source;
  source.path = path;
  if (env->IsDirectory(path)) {
    source.kind = GraphSource::Kind::kSavedModel;
  } else if (Basename(path) == "saved_model.pb") {
    source.kind = GraphSource::Kind::kSavedModel;
    source.path = std::string(Dirname(path));
    if (source.path.empty()) source.path = ".";
  } else if (EndsWith(path, ".pbtxt") || EndsWith(path, ".pbtext") || EndsWith(path, ".txt") ||
             EndsWith(path, ".pb")) {
    source.kind = GraphSource::Kind::kGraphDef;
  } else {
    source.kind = GraphSource::Kind::kMetaGraph;
  }
  return source;
}

Result<std::shared_ptr<const ImportedGraph>> LoadGraph(Env* env, const GraphSource& source) {
  switch (source.kind) {
    case GraphSource::Kind::kMetaGraph:
      return ImportMetaGraph(env, source.path);
    case GraphSource::Kind::kSavedModel:
      return ImportSavedModel(env, JoinPath(source.path, "saved_model.pb"), source.tags);
    case GraphSource::Kind::kGraphDef:
      break;
  }
  if (!env->FileExists(source.path)) return NotFoundError(source.path + ": no such file");
  if (EndsWith(source.path, ".pb")) {
    CKPT_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(env, source.path));
    tensorflow::GraphDef graph;
    if (!graph.ParseFromString(bytes)) {
      return DataLossError(source.path + " is not a binary GraphDef");
    }
    return ImportedGraph::FromGraphDef(std::move(graph));
  }
  CKPT_ASSIGN_OR_RETURN(tensorflow::GraphDef graph, ReadTextGraph(env, source.path));
  return ImportedGraph::FromGraphDef(std::move(graph));
}

}  // namespace ckpt::tools
