#include "exec/prune.h"

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "testutil/testutil.h"

namespace ckpt::exec {
namespace {

using testing::StatusIs;

std::shared_ptr<const ImportedGraph> Import(const std::string& text) {
  tensorflow::GraphDef graph;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &graph)) << text;
  return ImportedGraph::FromGraphDef(graph).value();
}

std::vector<std::string> Names(const PrunedGraph& pruned) {
  std::vector<std::string> names;
  for (const auto* node : pruned.order) names.push_back(node->name());
  return names;
}

// x -> a -> y ; z (unrelated) ; c -> a (control)
constexpr char kGraph[] = R"(
  node { name: "y" op: "Identity" input: "a" }
  node { name: "a" op: "Add" input: "x" input: "b" input: "^c" }
  node { name: "z" op: "Placeholder" }
  node { name: "x" op: "Placeholder" }
  node { name: "b" op: "Const" }
  node { name: "c" op: "NoOp" })";

TEST(PruneTest, RunsOnlyWhatTheFetchNeedsProducersFirst) {
  auto graph = Import(kGraph);
  CKPT_ASSERT_OK_AND_ASSIGN(PrunedGraph pruned, Prune(*graph, {}, {"y"}));
  // Ready nodes in GraphDef order: x, b, c; then a; then y. z is not needed.
  EXPECT_EQ(Names(pruned), (std::vector<std::string>{"x", "b", "c", "a", "y"}));
  EXPECT_EQ(pruned.first_root, (std::vector<int>{0, 0, 0, 0, 0}));
}

TEST(PruneTest, AFeedCutsItsProducer) {
  auto graph = Import(kGraph);
  CKPT_ASSERT_OK_AND_ASSIGN(PrunedGraph pruned, Prune(*graph, {"a:0"}, {"y"}));
  EXPECT_EQ(Names(pruned), (std::vector<std::string>{"y"}));
  CKPT_ASSERT_OK_AND_ASSIGN(pruned, Prune(*graph, {"x:0"}, {"y"}));
  EXPECT_EQ(Names(pruned), (std::vector<std::string>{"b", "c", "a", "y"}));
}

TEST(PruneTest, FeedingAnotherOutputDoesNotCut) {
  auto graph = Import(kGraph);
  CKPT_ASSERT_OK_AND_ASSIGN(PrunedGraph pruned, Prune(*graph, {"a:1"}, {"y"}));
  EXPECT_EQ(Names(pruned).size(), 5u);
}

TEST(PruneTest, FirstRootThatNeedsEachNode) {
  auto graph = Import(kGraph);
  CKPT_ASSERT_OK_AND_ASSIGN(PrunedGraph pruned, Prune(*graph, {}, {"z", "a", "y"}));
  ASSERT_EQ(Names(pruned), (std::vector<std::string>{"z", "x", "b", "c", "a", "y"}));
  EXPECT_EQ(pruned.first_root, (std::vector<int>{0, 1, 1, 1, 1, 2}));
}

TEST(PruneTest, CycleIsAnError) {
  auto graph = Import(R"(
    node { name: "p" op: "Identity" input: "q" }
    node { name: "q" op: "Identity" input: "p" }
    node { name: "out" op: "Identity" input: "q" })");
  EXPECT_THAT(Prune(*graph, {}, {"out"}), StatusIs(StatusCode::kInvalidArgument, "cycle"));
  // Feeding into the cycle breaks it.
  CKPT_ASSERT_OK_AND_ASSIGN(PrunedGraph pruned, Prune(*graph, {"p:0"}, {"out"}));
  EXPECT_EQ(Names(pruned), (std::vector<std::string>{"q", "out"}));
}

}  // namespace
}  // namespace ckpt::exec
