// Writes the ckpt-made seed files of the fuzz corpora:
//   make_fuzz_seeds <corpus dir> [<bundle prefix> ...]
// creates <corpus dir>/<harness>/ckpt_* (bundles in the bundle harness's
// two-file packing, their index tables, state files, event files and their
// records, a .meta, a graph.pbtxt, object graphs, inspect inputs). The output
// is checked in under tests/fuzz/corpus/; rerun after a format change.
// Each extra argument is a (TensorFlow-written) bundle whose object graph,
// if it has one, becomes object_graph/tf_<n>.
// Everything is written in a MemEnv first, then copied out.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "ckpt/meta_graph.h"
#include "ckpt/object_checkpoint.h"
#include "ckpt/record.h"
#include "ckpt/summary.h"
#include "fuzz_util.h"

namespace {

using namespace ckpt;  // NOLINT

std::string out_dir;

void Emit(const std::string& harness, const std::string& name, std::string_view bytes) {
  const std::string dir = out_dir + "/" + harness;
  Env::Posix()->CreateDirs(dir).IgnoreError();
  std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string Read(Env* env, const std::string& path) {
  auto s = ReadFileToString(env, path);
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), s.status().ToString().c_str());
    std::exit(1);
  }
  return *s;
}

void Check(const Status& s) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    std::exit(1);
  }
}

// A bundle with one tensor of most kinds, and a partitioned tensor.
void Bundles(MemEnv* env) {
  BundleWriterOptions o;
  o.env = env;
  o.sync = false;
  o.direct_io = false;
  auto w = BundleWriter::Create("/b/mixed", o);
  Check(w.status());
  Check((*w)->Add("a/float", Tensor::FromVector<float>({2, 3}, {1, -2.5f, 3, 0, 1e-7f, 6})));
  Check((*w)->Add("b/int64", Tensor::FromVector<int64_t>({3}, {1, -1, 1LL << 40})));
  Check((*w)->Add("c/bool", Tensor::FromVector<bool>({2}, {true, false})));
  Check((*w)->Add("d/string", *Tensor::FromStrings({3}, {"", "x", std::string(200, 'y')})));
  Check((*w)->Add("e/scalar", Tensor::Scalar<double>(0.5)));
  Check((*w)->Add("f/empty", *Tensor::Allocate(DataType::kInt32, {0, 4})));
  Check((*w)->Add("g/uint8", Tensor::FromVector<uint8_t>({4}, {0, 1, 254, 255})));
  TensorShape full{4, 2};
  Check((*w)->AddSlice("p/part", full, *TensorSlice::Parse("0,2:-"),
                       Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4})));
  Check((*w)->AddSlice("p/part", full, *TensorSlice::Parse("2,2:-"),
                       Tensor::FromVector<float>({2, 2}, {5, 6, 7, 8})));
  Check((*w)->Finish());
  const std::string index = Read(env, "/b/mixed.index");
  const std::string data = Read(env, "/b/mixed.data-00000-of-00001");
  Emit("bundle", "ckpt_mixed", fuzz::PackIndexAndData(index, data));
  Emit("table", "ckpt_mixed.index", index);

  // Aligned data (padding between tensors).
  o.data_alignment = 16;
  auto w2 = BundleWriter::Create("/b/aligned", o);
  Check(w2.status());
  Check((*w2)->Add("x", Tensor::FromVector<int16_t>({3}, {1, 2, 3})));
  Check((*w2)->Add("y", Tensor::FromVector<double>({2}, {1.5, -0.0})));
  Check((*w2)->Finish());
  Emit("bundle", "ckpt_aligned",
       fuzz::PackIndexAndData(Read(env, "/b/aligned.index"),
                              Read(env, "/b/aligned.data-00000-of-00001")));
}

// A TF2 object checkpoint (object graph, a slot variable).
void ObjectCheckpoints(MemEnv* env) {
  ObjectCheckpointOptions o;
  o.env = env;
  o.sync = false;
  ObjectCheckpoint ckpt({}, o);
  auto model = ckpt.root().AddObject("model");
  Check(model.status());
  auto kernel = (*model)->AddVariable("kernel", Tensor::FromVector<float>({2}, {1, 2}), "dense/kernel");
  Check(kernel.status());
  auto opt = ckpt.root().AddObject("optimizer");
  Check(opt.status());
  Check((*opt)->AddSlotVariable(*kernel, "m",
                                Variable::Create(Tensor::FromVector<float>({2}, {0, 0}))));
  auto prefix = ckpt.Save("/o/ckpt");
  Check(prefix.status());
  const std::string index = Read(env, *prefix + ".index");
  const std::string data = Read(env, *prefix + ".data-00000-of-00001");
  Emit("bundle", "ckpt_object", fuzz::PackIndexAndData(index, data));
  BundleReaderOptions ro;
  ro.env = env;
  auto reader = BundleReader::Open(*prefix, ro);
  Check(reader.status());
  auto graph = (*reader)->Read(kObjectGraphKey);
  Check(graph.status());
  Emit("object_graph", "ckpt_object_graph", graph->strings()[0]);
  Emit("checkpoint_state", "ckpt_manager_state", Read(env, "/o/checkpoint"));
}

void States(MemEnv* env) {
  Check(UpdateCheckpointState(env, "/s", "/s/model.ckpt-2", {"/s/model.ckpt-1"}, {1.5, 2.5},
                              0.5));
  Emit("checkpoint_state", "ckpt_state_abs", Read(env, "/s/checkpoint"));
  UpdateCheckpointStateOptions rel;
  rel.save_relative_paths = true;
  Check(UpdateCheckpointState(env, "/r", "/r/model.ckpt-1", {}, {}, std::nullopt, rel));
  Emit("checkpoint_state", "ckpt_state_rel", Read(env, "/r/checkpoint"));
}

void Events(MemEnv* env) {
  EventWriterOptions o;
  o.env = env;
  o.hostname = "host";
  o.source_writer = "ckpt";
  auto w = EventWriter::Create("/e", o);
  Check(w.status());
  Check((*w)->AddScalar("loss", 1, 0.5f));
  Check((*w)->AddScalar("loss", 2, 0.25f, ScalarStyle::kSimpleValue));
  Check((*w)->AddHistogram("weights", 2, {1, 2, 3, -4, 0.001}));
  Check((*w)->AddText("note", 3, "hello"));
  Check((*w)->AddSessionLog(SessionLogStatus::kCheckpoint, 3, "/e/model.ckpt-3"));
  Check((*w)->AddGraphDef("\x0a\x03\x0a\x01x", 0));
  Check((*w)->Close());
  const std::string file = Read(env, (*w)->path());
  Emit("record", "ckpt_events", file);
  // Each record's payload is one serialized Event.
  RecordReader::Options ro;
  auto reader = RecordReader::Open(env, (*w)->path(), ro);
  Check(reader.status());
  std::string record;
  for (int i = 0;; ++i) {
    auto more = (*reader)->ReadRecord(&record);
    Check(more.status());
    if (!*more) break;
    Emit("event", "ckpt_event_" + std::to_string(i), record);
  }
}

void Graphs(MemEnv* env) {
  GraphBuilder g;
  g.Variable("w", Tensor::FromVector<float>({2, 2}, {1, 2, 3, 4}));
  g.Variable("b", Tensor::FromVector<float>({2}, {0, 0}), /*trainable=*/false);
  auto saver = AddSaverSubgraph(&g);
  Check(saver.status());
  auto meta = BuildMetaGraphDef(g, &*saver);
  Check(meta.status());
  Emit("meta_graph", "ckpt_model.meta", meta->SerializeAsString());
  auto graph = BuildGraphDef(g);
  Check(graph.status());
  Emit("graph_pbtxt", "ckpt_graph.pbtxt", GraphDefToText(*graph));
}

void InspectInputs() {
  // dtype index, rank, dims, threshold, edgeitems, precision (2), linewidth,
  // flags, then element bytes.
  std::string floats("\x00\x02\x02\x03\x08\x03\x08\x00\x4a\x00", 10);
  for (int i = 0; i < 24; ++i) floats += static_cast<char>(i * 37);
  Emit("inspect", "ckpt_float_2x3", floats);
  std::string big("\x00\x01\x08\x00\x01\x04\x00\x4a\x01", 9);
  big += std::string(64, '\x7f');
  Emit("inspect", "ckpt_summarised", big);
  std::string strings("\x07\x01\x03\x20\x03\x08\x00\x4a\x00\x02" "ab\x00\x03\xff\x01\n", 16);
  Emit("inspect", "ckpt_strings", strings);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <corpus dir> [<bundle prefix> ...]\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  auto env = NewMemEnv();
  Bundles(env.get());
  ObjectCheckpoints(env.get());
  States(env.get());
  Events(env.get());
  Graphs(env.get());
  InspectInputs();
  for (int i = 2; i < argc; ++i) {
    auto reader = BundleReader::Open(argv[i]);
    Check(reader.status());
    if (!(*reader)->Contains(kObjectGraphKey)) continue;
    auto graph = (*reader)->Read(kObjectGraphKey);
    Check(graph.status());
    Emit("object_graph", "tf_" + std::to_string(i - 1), graph->strings()[0]);
  }
  return 0;
}
