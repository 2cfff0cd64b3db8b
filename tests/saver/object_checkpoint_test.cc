// Tests for TF2 object-based checkpoints: key escaping, reading the object
// graph of TensorFlow-written bundles (golden B1-B4), writing, restoring by
// graph matching, error cases. Each round-trip suite runs on Posix and MemEnv.
#include "ckpt/object_checkpoint.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_state.h"
#include "tensorflow/core/protobuf/trackable_object_graph.pb.h"
#include "checkpoint/object_graph_testing.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::EnvKind;
using ::ckpt::testing::ChildNames;
using ::ckpt::testing::StatusIs;
using ::ckpt::testing::Values;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --------------------------------------------------------- write/restore

// A Keras-2-like tree: model/layer_with_weights-0/{kernel,bias} (also
// reachable as model/layer-0), an optimizer with an iteration counter and
// slots m and v for both weights.
struct Model {
  std::shared_ptr<Trackable> model, layer, optimizer;
  std::shared_ptr<Variable> kernel, bias, iter, names;
  std::map<std::string, std::shared_ptr<Variable>> slots;  // "kernel/m" etc.
};

Model MakeModel(float base) {
  Model m;
  m.model = std::make_shared<Trackable>();
  m.layer = std::make_shared<Trackable>();
  m.optimizer = std::make_shared<Trackable>();
  m.kernel = Variable::Create(
      Tensor::FromVector<float>({2, 3}, {base, base + 1, base + 2, base + 3, base + 4, base + 5}),
      "dense/kernel");
  m.bias = Variable::Create(Tensor::FromVector<float>({3}, {base, -base, base * 2}), "dense/bias");
  m.iter = Variable::Create(Tensor::Scalar<int64_t>(static_cast<int64_t>(base) * 10), "Adam/iter");
  m.names = Variable::Create(
      Tensor::FromStrings({2}, {"a\0b" + std::to_string(base), "\xff"}).value(), "vocab");
  EXPECT_TRUE(m.model->AddChild("layer_with_weights-0", m.layer).ok());
  EXPECT_TRUE(m.model->AddChild("layer-0", m.layer).ok());
  EXPECT_TRUE(m.layer->AddChild("kernel", m.kernel).ok());
  EXPECT_TRUE(m.layer->AddChild("bias", m.bias).ok());
  EXPECT_TRUE(m.layer->AddChild("vocab", m.names).ok());
  EXPECT_TRUE(m.optimizer->AddChild("iter", m.iter).ok());
  for (const char* slot : {"v", "m"}) {  // saved sorted by slot name anyway
    for (auto [name, var] : {std::pair{"kernel", m.kernel}, std::pair{"bias", m.bias}}) {
      Tensor t = var->value().Copy();
      for (int64_t i = 0; i < t.num_elements(); ++i) t.mutable_flat<float>()[i] += slot[0];
      auto sv = Variable::Create(t, var->full_name() + "/" + slot);
      EXPECT_TRUE(m.optimizer->AddSlotVariable(var, slot, sv).ok());
      m.slots[std::string(name) + "/" + slot] = sv;
    }
  }
  return m;
}

std::unique_ptr<ObjectCheckpoint> MakeCheckpoint(const Model& m, Env* env) {
  ObjectCheckpointOptions opts;
  opts.env = env;
  return std::make_unique<ObjectCheckpoint>(
      std::map<std::string, std::shared_ptr<Trackable>>{{"optimizer", m.optimizer},
                                                        {"model", m.model}},
      opts);
}

class ObjectCheckpointTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override { t_ = testing::MakeTestEnv(GetParam()); }
  Env* env() { return t_.env; }
  std::string Path(const std::string& name) { return JoinPath(t_.root, name); }
  CheckpointReaderOptions ReaderOptions() {
    CheckpointReaderOptions o;
    o.env = env();
    return o;
  }
  testing::TestEnv t_;
};

TEST_P(ObjectCheckpointTest, SaveWritesNumberedCheckpointAndStateFile) {
  Model m = MakeModel(1);
  auto ckpt = MakeCheckpoint(m, env());
  EXPECT_EQ(ckpt->save_counter(), nullptr);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p1, ckpt->Save(Path("ckpts/ckpt")));
  EXPECT_EQ(p1, Path("ckpts/ckpt-1"));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string p2, ckpt->Save(Path("ckpts/ckpt")));
  EXPECT_EQ(p2, Path("ckpts/ckpt-2"));
  ASSERT_NE(ckpt->save_counter(), nullptr);
  EXPECT_EQ(ckpt->save_counter()->value().flat<int64_t>()[0], 2);
  EXPECT_THAT(testing::ListDir(env(), Path("ckpts")),
              ElementsAre("checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
                          "ckpt-2.data-00000-of-00001", "ckpt-2.index"));
  CKPT_ASSERT_OK_AND_ASSIGN(std::string state,
                            ReadFileToString(env(), Path("ckpts/checkpoint")));
  EXPECT_EQ(state,
            "model_checkpoint_path: \"ckpt-2\"\nall_model_checkpoint_paths: \"ckpt-2\"\n");
  // The saved counter is the number in the name.
  auto r = ObjectCheckpointReader::Open(Path("ckpts"), ReaderOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->prefix(), p2);
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor counter, (*r)->GetVariable("save_counter"));
  EXPECT_EQ(counter.dtype(), DataType::kInt64);
  EXPECT_EQ(counter.flat<int64_t>()[0], 2);
}

TEST_P(ObjectCheckpointTest, WriteProducesTensorFlowGraphAndKeys) {
  Model m = MakeModel(1);
  auto ckpt = MakeCheckpoint(m, env());
  const std::string prefix = Path("w/ckpt");
  CKPT_ASSERT_OK(ckpt->Write(prefix));
  EXPECT_THAT(testing::ListDir(env(), Path("w")),
              ElementsAre("ckpt.data-00000-of-00001", "ckpt.index"));  // no _temp left
  EXPECT_EQ(ckpt->save_counter(), nullptr);  // Write does not create it

  auto r = ObjectCheckpointReader::Open(prefix, ReaderOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  const ObjectGraph& g = (*r)->graph();
  // BFS: 0 root, 1 model, 2 optimizer, 3 layer, 4 iter, 5 kernel, 6 bias,
  // 7 vocab, then slots m(kernel, bias), v(kernel, bias).
  ASSERT_EQ(g.nodes().size(), 12u);
  EXPECT_THAT(ChildNames(g.nodes()[0]), ElementsAre("model", "optimizer"));
  EXPECT_THAT(ChildNames(g.nodes()[1]), ElementsAre("layer_with_weights-0", "layer-0"));
  EXPECT_EQ(g.nodes()[1].children[0].node_id, 3);
  EXPECT_EQ(g.nodes()[1].children[1].node_id, 3);
  EXPECT_EQ(g.nodes()[3].path, "model/layer_with_weights-0");
  std::vector<std::string> keys;
  for (const auto& v : (*r)->Variables()) keys.push_back(v.checkpoint_key);
  EXPECT_THAT(keys,
              ElementsAre("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/vocab/.ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/"
                          ".ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/bias/.OPTIMIZER_SLOT/optimizer/m/"
                          ".ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/v/"
                          ".ATTRIBUTES/VARIABLE_VALUE",
                          "model/layer_with_weights-0/bias/.OPTIMIZER_SLOT/optimizer/v/"
                          ".ATTRIBUTES/VARIABLE_VALUE"));
  const auto& opt = g.nodes()[2];
  ASSERT_EQ(opt.slot_variables.size(), 4u);
  EXPECT_EQ(opt.slot_variables[0].original_variable_node_id, 5);
  EXPECT_EQ(opt.slot_variables[0].slot_name, "m");
  EXPECT_EQ(opt.slot_variables[0].slot_variable_node_id, 8);
  EXPECT_EQ(opt.slot_variables[3].original_variable_node_id, 6);
  EXPECT_EQ(opt.slot_variables[3].slot_name, "v");
  EXPECT_EQ(opt.slot_variables[3].slot_variable_node_id, 11);
  EXPECT_EQ(g.nodes()[5].attributes[0].full_name, "dense/kernel");
  for (const auto& node : g.nodes()) EXPECT_EQ(node.has_checkpoint_values, true) << node.id;

  // Values by object path, by alternate route, by slot path.
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor k, (*r)->GetVariable("model/layer-0/kernel"));
  EXPECT_TRUE(k.Equals(m.kernel->value()));
  CKPT_ASSERT_OK_AND_ASSIGN(
      Tensor slot, (*r)->GetVariable("model/layer-0/bias/.OPTIMIZER_SLOT/optimizer/v"));
  EXPECT_TRUE(slot.Equals(m.slots["bias/v"]->value()));
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor vocab, (*r)->GetVariable("model/layer_with_weights-0/vocab"));
  EXPECT_TRUE(vocab.Equals(m.names->value()));
  EXPECT_THAT((*r)->GetVariable("model/layer-0/bias/.OPTIMIZER_SLOT/optimizer/w"),
              StatusIs(StatusCode::kNotFound, "has no slot \"w\""));

  // Data in node order, the graph string last.
  CKPT_ASSERT_OK_AND_ASSIGN(auto bundle, BundleReader::Open(prefix, {env()}));
  std::map<std::string, int64_t> offset;
  for (const auto& e : bundle->entries()) offset[e.key] = e.offset;
  int64_t last = -1;
  for (const std::string& key : keys) {
    EXPECT_GT(offset.at(key), last) << key;
    last = offset.at(key);
  }
  EXPECT_GT(offset.at(kObjectGraphKey), last);
}

TEST_P(ObjectCheckpointTest, EscapesLocalNamesInKeys) {
  auto root = std::make_shared<Trackable>();
  CKPT_ASSERT_OK_AND_ASSIGN(auto inner, root->AddObject("a.b/c"));
  CKPT_ASSERT_OK(inner->AddVariable("x.S", Tensor::Scalar<float>(7)).status());
  ObjectCheckpointOptions opts;
  opts.env = env();
  ObjectCheckpoint ckpt({{"dir/name", root}}, opts);
  CKPT_ASSERT_OK(ckpt.Write(Path("esc")));
  auto r = ObjectCheckpointReader::Open(Path("esc"), ReaderOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  auto vars = (*r)->Variables();
  ASSERT_EQ(vars.size(), 1u);
  EXPECT_EQ(vars[0].path, "dir.Sname/a..b.Sc/x..S");
  EXPECT_EQ(vars[0].checkpoint_key, "dir.Sname/a..b.Sc/x..S/.ATTRIBUTES/VARIABLE_VALUE");
  EXPECT_EQ(vars[0].full_name, "Variable");
  EXPECT_THAT(ChildNames((*r)->graph().nodes()[0]), ElementsAre("dir/name"));  // stored raw
  CKPT_ASSERT_OK_AND_ASSIGN(Tensor x, (*r)->GetVariable(ObjectPath({"dir/name", "a.b/c", "x.S"})));
  EXPECT_EQ(x.flat<float>()[0], 7.0f);
}

TEST_P(ObjectCheckpointTest, RestoreMatchesByGraphAndConsumesEverything) {
  Model saved = MakeModel(1);
  auto src = MakeCheckpoint(saved, env());
  CKPT_ASSERT_OK_AND_ASSIGN(std::string path, src->Save(Path("rt/ckpt")));

  Model fresh = MakeModel(100);
  // Matching is by object graph: different full names do not matter.
  auto renamed = Variable::Create(fresh.kernel->value(), "completely/different");
  CKPT_ASSERT_OK(fresh.layer->AddChild("kernel", renamed));
  CKPT_ASSERT_OK(fresh.optimizer->AddSlotVariable(renamed, "m", fresh.slots["kernel/m"]));
  CKPT_ASSERT_OK(fresh.optimizer->AddSlotVariable(renamed, "v", fresh.slots["kernel/v"]));
  Tensor alias = renamed->value();  // shares storage: sees the restore in place
  auto dst = MakeCheckpoint(fresh, env());
  CKPT_ASSERT_OK_AND_ASSIGN(ObjectRestoreStatus status, dst->RestoreWithStatus(path));
  CKPT_EXPECT_OK(status.AssertConsumed());
  CKPT_EXPECT_OK(status.AssertExistingObjectsMatched());
  EXPECT_EQ(status.restored.size(), 9u);  // 4 variables + 4 slots + save_counter
  EXPECT_TRUE(renamed->value().Equals(saved.kernel->value()));
  EXPECT_TRUE(alias.Equals(saved.kernel->value()));
  EXPECT_TRUE(fresh.bias->value().Equals(saved.bias->value()));
  EXPECT_TRUE(fresh.iter->value().Equals(saved.iter->value()));
  EXPECT_TRUE(fresh.names->value().Equals(saved.names->value()));
  for (const auto& [name, slot] : saved.slots) {
    EXPECT_TRUE(fresh.slots[name]->value().Equals(slot->value())) << name;
  }
  ASSERT_NE(dst->save_counter(), nullptr);
  EXPECT_EQ(dst->save_counter()->value().flat<int64_t>()[0], 1);
  // The restored counter continues.
  CKPT_ASSERT_OK_AND_ASSIGN(std::string next, dst->Save(Path("rt/ckpt")));
  EXPECT_EQ(next, Path("rt/ckpt-2"));
}

TEST_P(ObjectCheckpointTest, AssertConsumedReportsBothSides) {
  Model saved = MakeModel(1);
  auto src = MakeCheckpoint(saved, env());
  CKPT_ASSERT_OK(src->Write(Path("partial")));

  Model fresh = MakeModel(5);
  // Not in the checkpoint: a new variable; missing from ours: the optimizer.
  CKPT_ASSERT_OK(fresh.layer->AddVariable("extra", Tensor::Scalar<float>(3)).status());
  ObjectCheckpointOptions opts;
  opts.env = env();
  ObjectCheckpoint dst({{"model", fresh.model}}, opts);
  CKPT_ASSERT_OK_AND_ASSIGN(ObjectRestoreStatus status, dst.RestoreWithStatus(Path("partial")));
  EXPECT_TRUE(fresh.kernel->value().Equals(saved.kernel->value()));  // what matched restored
  EXPECT_EQ(fresh.iter->value().flat<int64_t>()[0], 50);              // not tracked: untouched
  EXPECT_THAT(status.unmatched_objects, ElementsAre("model/layer_with_weights-0/extra"));
  EXPECT_THAT(status.unrestored_variables, ElementsAre("model/layer_with_weights-0/extra"));
  EXPECT_EQ(status.unused_checkpoint_values.size(), 5u);  // iter + 4 slots
  Status consumed = status.AssertConsumed();
  EXPECT_THAT(consumed, StatusIs(StatusCode::kFailedPrecondition,
                                 "optimizer/iter (optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE)"));
  EXPECT_THAT(consumed.message(), HasSubstr("model/layer_with_weights-0/extra"));
  EXPECT_THAT(status.AssertExistingObjectsMatched(),
              StatusIs(StatusCode::kFailedPrecondition, "model/layer_with_weights-0/extra"));
  // Without the extra variable, existing objects all matched.
  ObjectCheckpoint dst2({{"model", MakeModel(2).model}}, opts);
  CKPT_ASSERT_OK_AND_ASSIGN(ObjectRestoreStatus status2, dst2.RestoreWithStatus(Path("partial")));
  CKPT_EXPECT_OK(status2.AssertExistingObjectsMatched());
  EXPECT_FALSE(status2.AssertConsumed().ok());
}

TEST_P(ObjectCheckpointTest, ShapeAndDtypeMismatchModifyNothing) {
  auto root = std::make_shared<Trackable>();
  CKPT_ASSERT_OK(root->AddVariable("a", Tensor::FromVector<float>({3}, {1, 2, 3}), "va").status());
  CKPT_ASSERT_OK(root->AddVariable("b", Tensor::Scalar<int32_t>(4), "vb").status());
  CKPT_ASSERT_OK(root->AddVariable("c", Tensor::Scalar<float>(5), "vc").status());
  ObjectCheckpointOptions opts;
  opts.env = env();
  ObjectCheckpoint src({{"net", root}}, opts);
  CKPT_ASSERT_OK_AND_ASSIGN(std::string path, src.Save(Path("mm/ckpt")));

  auto other = std::make_shared<Trackable>();
  CKPT_ASSERT_OK_AND_ASSIGN(auto a, other->AddVariable("a", Tensor::FromVector<float>({2}, {0, 0}),
                                                       "net/a"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto b, other->AddVariable("b", Tensor::Scalar<float>(0), "net/b"));
  CKPT_ASSERT_OK_AND_ASSIGN(auto c, other->AddVariable("c", Tensor::Scalar<float>(0), "net/c"));
  ObjectCheckpoint dst({{"net", other}}, opts);
  auto status = dst.RestoreWithStatus(path);
  EXPECT_THAT(status, StatusIs(StatusCode::kInvalidArgument,
                               "Received incompatible tensor with shape [3] when attempting to "
                               "restore variable with shape [2] and name net/a"));
  EXPECT_THAT(status, StatusIs(StatusCode::kInvalidArgument,
                               "Received incompatible tensor with dtype int32 when attempting to "
                               "restore variable with dtype float and name net/b"));
  EXPECT_THAT(status.status().message(), HasSubstr("checkpoint key \"net/a/.ATTRIBUTES/"));
  // c matched fine but nothing was assigned, not even the save counter.
  EXPECT_EQ(c->value().flat<float>()[0], 0.0f);
  EXPECT_THAT(Values<float>(a->value()), ElementsAre(0.0f, 0.0f));
  EXPECT_EQ(dst.save_counter(), nullptr);
  EXPECT_THAT(dst.Restore(path), StatusIs(StatusCode::kInvalidArgument, "incompatible"));
}

TEST_P(ObjectCheckpointTest, RestoreErrors) {
  ObjectCheckpointOptions opts;
  opts.env = env();
  ObjectCheckpoint ckpt({}, opts);
  EXPECT_THAT(ckpt.Restore(Path("missing/ckpt-1")), StatusIs(StatusCode::kNotFound, "missing"));
  // A name-based bundle.
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(Path("tf1"), {env()}));
    CKPT_ASSERT_OK(w->Add("v", Tensor::Scalar<float>(1)));
    CKPT_ASSERT_OK(w->Finish());
  }
  EXPECT_THAT(ckpt.Restore(Path("tf1")), StatusIs(StatusCode::kNotFound, "not object-based"));
  // A graph referring to a key the bundle lacks.
  tensorflow::TrackableObjectGraph proto;
  auto* root = proto.add_nodes();
  auto* c = root->add_children();
  c->set_node_id(1);
  c->set_local_name("v");
  auto* attr = proto.add_nodes()->add_attributes();
  attr->set_name(kVariableValueAttribute);
  attr->set_full_name("v");
  attr->set_checkpoint_key("v/.ATTRIBUTES/VARIABLE_VALUE");
  {
    CKPT_ASSERT_OK_AND_ASSIGN(auto w, BundleWriter::Create(Path("nokey"), {env()}));
    CKPT_ASSERT_OK(w->Add(kObjectGraphKey, Tensor::StringScalar(proto.SerializeAsString())));
    CKPT_ASSERT_OK(w->Finish());
  }
  auto v = Variable::Create(Tensor::Scalar<float>(9));
  CKPT_ASSERT_OK(ckpt.AddChild("v", v));
  EXPECT_THAT(ckpt.Restore(Path("nokey")),
              StatusIs(StatusCode::kNotFound, "Key v/.ATTRIBUTES/VARIABLE_VALUE not found"));
  EXPECT_EQ(v->value().flat<float>()[0], 9.0f);
}

TEST_P(ObjectCheckpointTest, FailedWriteLeavesNoCheckpointAndCanBeRetried) {
  testing::FaultInjectionEnv faulty(env());
  Model m = MakeModel(3);
  auto ckpt = MakeCheckpoint(m, &faulty);
  int failures = 0;
  for (int budget = 0; budget < 40; ++budget) {
    faulty.FailAfter(budget);
    Status s = ckpt->Write(Path("faulty/ckpt"));
    faulty.FailAfter(-1);
    if (s.ok()) break;
    // A failure before the index rename leaves no checkpoint; a failure in
    // the directory sync after it leaves a complete one. Never a partial one.
    if (env()->FileExists(Path("faulty/ckpt.index"))) {
      EXPECT_THAT(s.message(), HasSubstr("sync dir")) << budget;
      auto r = ObjectCheckpointReader::Open(Path("faulty/ckpt"), ReaderOptions());
      ASSERT_TRUE(r.ok()) << budget << ": " << r.status();
      EXPECT_EQ((*r)->Variables().size(), 8u);
      env()->DeleteFile(Path("faulty/ckpt.index")).IgnoreError();
    }
    ++failures;
  }
  EXPECT_GT(failures, 5);
  faulty.FailAfter(-1);
  CKPT_ASSERT_OK(ckpt->Write(Path("faulty/ckpt")));
  auto r = ObjectCheckpointReader::Open(Path("faulty/ckpt"), ReaderOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->Variables().size(), 8u);
  EXPECT_FALSE(env()->IsDirectory(Path("faulty/ckpt_temp")));
}

INSTANTIATE_TEST_SUITE_P(Envs, ObjectCheckpointTest,
                         ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         [](const auto& info) { return testing::EnvKindName(info.param); });

TEST(TrackableTest, ChildrenAndSlotsAreValidated) {
  Trackable t;
  EXPECT_THAT(t.AddChild("", std::make_shared<Trackable>()),
              StatusIs(StatusCode::kInvalidArgument, "must not be empty"));
  EXPECT_THAT(t.AddChild("x", nullptr), StatusIs(StatusCode::kInvalidArgument, "\"x\" is null"));
  auto first = std::make_shared<Trackable>();
  auto second = std::make_shared<Trackable>();
  CKPT_ASSERT_OK(t.AddChild("a", first));
  CKPT_ASSERT_OK(t.AddChild("b", first));
  CKPT_ASSERT_OK(t.AddChild("a", second));  // replaced in place, like setattr
  ASSERT_EQ(t.children().size(), 2u);
  EXPECT_EQ(t.children()[0].local_name, "a");
  EXPECT_EQ(t.children()[0].object, second);
  EXPECT_EQ(t.GetChild("b"), first);
  EXPECT_EQ(t.GetChild("c"), nullptr);

  auto v = Variable::Create(Tensor::Scalar<float>(1));
  EXPECT_EQ(v->full_name(), "Variable");
  auto parent = Variable::Create(Tensor::Scalar<float>(1));
  CKPT_ASSERT_OK(parent->AddChild("child", first));
  EXPECT_THAT(t.AddSlotVariable(v, "m", parent),
              StatusIs(StatusCode::kInvalidArgument, "without children"));
  EXPECT_THAT(t.AddSlotVariable(v, "", v), StatusIs(StatusCode::kInvalidArgument, "slot name"));
  EXPECT_THAT(t.AddVariable("r", Tensor()), StatusIs(StatusCode::kInvalidArgument, "cannot store"));

  EXPECT_THAT(v->Assign(Tensor::Scalar<double>(1)),
              StatusIs(StatusCode::kInvalidArgument, "dtype double and shape [] to variable "
                                                     "Variable of dtype float"));
  CKPT_ASSERT_OK(v->Assign(Tensor::Scalar<float>(4)));
  EXPECT_EQ(v->value().flat<float>()[0], 4.0f);
  // A view is replaced, never written through.
  float buffer = 1.5f;
  auto view = Variable::Create(Tensor::View(DataType::kFloat, {}, &buffer));
  CKPT_ASSERT_OK(view->Assign(Tensor::Scalar<float>(8)));
  EXPECT_EQ(buffer, 1.5f);
  EXPECT_EQ(view->value().flat<float>()[0], 8.0f);
}

TEST(TrackableTest, SlotVariableTrackedElsewhereCannotBeSaved) {
  auto root = std::make_shared<Trackable>();
  CKPT_ASSERT_OK_AND_ASSIGN(auto v, root->AddVariable("v", Tensor::Scalar<float>(1)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto s, root->AddVariable("s", Tensor::Scalar<float>(2)));
  CKPT_ASSERT_OK_AND_ASSIGN(auto opt, root->AddObject("opt"));
  CKPT_ASSERT_OK(opt->AddSlotVariable(v, "m", s));
  ObjectCheckpoint ckpt({{"root", root}});
  EXPECT_THAT(ckpt.Write(testing::TempDir() + "/x"),
              StatusIs(StatusCode::kInvalidArgument, "also tracked elsewhere"));
}

}  // namespace
}  // namespace ckpt
