#include "graph_source.h"

#include <string>
#include <utility>

#include "ckpt/filenames.h"

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
  } else if (Basename(path) == kSavedModelFilename) {
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
      return ImportSavedModel(env, source.path, source.tags);
    case GraphSource::Kind::kGraphDef:
      break;
  }
  return ImportGraphDef(env, source.path);
}

}  // namespace ckpt::tools
