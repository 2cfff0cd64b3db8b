// The Iris CSV loader: the shipped files, and malformed inputs.
#include "ckpt/iris.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

using ::ckpt::testing::StatusIs;
using ::testing::ElementsAre;

const std::string kIrisDir = CKPT_IRIS_DIR;

void ExpectRow(const LabeledExample& e, std::vector<float> features, int64_t label) {
  EXPECT_EQ(e.features, features);
  EXPECT_EQ(e.label, label);
}

TEST(IrisTest, ShippedTrainingFile) {
  CKPT_ASSERT_OK_AND_ASSIGN(IrisDataSet d, LoadIrisCsv(Env::Posix(), kIrisDir + "/iris_training.csv"));
  EXPECT_THAT(d.feature_names, ElementsAre("SepalLength", "SepalWidth", "PetalLength", "PetalWidth"));
  EXPECT_THAT(d.class_names, ElementsAre("setosa", "versicolor", "virginica"));
  ASSERT_EQ(d.examples.size(), 120u);
  ExpectRow(d.examples[0], {6.4f, 2.8f, 5.6f, 2.2f}, 2);
  ExpectRow(d.examples[1], {5.0f, 2.3f, 3.3f, 1.0f}, 1);
  ExpectRow(d.examples[2], {4.9f, 2.5f, 4.5f, 1.7f}, 2);
  ExpectRow(d.examples[3], {4.9f, 3.1f, 1.5f, 0.1f}, 0);
  int counts[3] = {0, 0, 0};
  for (const auto& e : d.examples) ++counts[e.label];
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 120);
  for (int c : counts) EXPECT_GT(c, 30);
}

TEST(IrisTest, ShippedTestFile) {
  CKPT_ASSERT_OK_AND_ASSIGN(IrisDataSet d, LoadIrisCsv(Env::Posix(), kIrisDir + "/iris_test.csv"));
  ASSERT_EQ(d.examples.size(), 30u);
  ExpectRow(d.examples[0], {5.9f, 3.0f, 4.2f, 1.5f}, 1);
  ExpectRow(d.examples[1], {6.9f, 3.1f, 5.4f, 2.1f}, 2);
  ExpectRow(d.examples[2], {5.1f, 3.3f, 1.7f, 0.5f}, 0);
}

TEST(IrisTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadIrisCsv(Env::Posix(), kIrisDir + "/no_such.csv"),
              StatusIs(StatusCode::kNotFound, "no_such.csv"));
  EXPECT_THAT(LoadIrisCsv(nullptr, "x"), StatusIs(StatusCode::kInvalidArgument, "null env"));
}

TEST(IrisTest, ThroughAMemEnv) {
  std::unique_ptr<MemEnv> env = NewMemEnv();
  CKPT_ASSERT_OK(env->CreateDirs("/d"));
  CKPT_ASSERT_OK(::ckpt::testing::WriteStringToFile(env.get(), "/d/iris.csv",
                                                    "2,4,a,b\r\n1,2,3,4,0\r\n5,6,7,8,1\r\n\r\n"));
  CKPT_ASSERT_OK_AND_ASSIGN(IrisDataSet d, LoadIrisCsv(env.get(), "/d/iris.csv"));
  EXPECT_THAT(d.class_names, ElementsAre("a", "b"));
  ASSERT_EQ(d.examples.size(), 2u);
  ExpectRow(d.examples[1], {5, 6, 7, 8}, 1);
}

struct BadCase {
  const char* label;
  const char* contents;
  const char* message;  // substring expected in the error
};

class IrisBadInputTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(IrisBadInputTest, NamesFileLineAndColumn) {
  const BadCase& c = GetParam();
  auto r = ParseIrisCsv(c.contents, "bad.csv");
  EXPECT_THAT(r, StatusIs(StatusCode::kInvalidArgument, c.message));
}

INSTANTIATE_TEST_SUITE_P(
    All, IrisBadInputTest,
    ::testing::Values(
        BadCase{"TooFewColumns", "2,4,a,b,c\n1,2,3,4,0\n1,2,3,0\n",
                "bad.csv:3: expected 5 columns"},
        BadCase{"TooManyColumns", "1,4,a,b,c\n1,2,3,4,0,9\n", "bad.csv:2: expected 5 columns"},
        BadCase{"NonNumeric", "1,4,a,b,c\n1,abc,3,4,0\n",
                "bad.csv:2: column 2 (SepalWidth): \"abc\" is not a finite number"},
        BadCase{"TrailingJunk", "1,4,a,b,c\n1,2,3.5x,4,0\n",
                "bad.csv:2: column 3 (PetalLength): \"3.5x\""},
        BadCase{"EmptyField", "1,4,a,b,c\n1,2,3,,0\n", "bad.csv:2: column 4 (PetalWidth)"},
        BadCase{"NotFinite", "1,4,a,b,c\nnan,2,3,4,0\n", "bad.csv:2: column 1 (SepalLength)"},
        BadCase{"LabelOutOfRange", "2,4,a,b,c\n1,2,3,4,0\n1,2,3,4,3\n",
                "bad.csv:3: column 5 (label): label 3 is out of range [0, 3)"},
        BadCase{"NegativeLabel", "1,4,a,b,c\n1,2,3,4,-1\n", "column 5 (label): label -1"},
        BadCase{"FractionalLabel", "1,4,a,b,c\n1,2,3,4,1.5\n",
                "bad.csv:2: column 5 (label): \"1.5\" is not an integer"},
        BadCase{"HeaderTooShort", "120,4\n", "bad.csv:1: bad header \"120,4\""},
        BadCase{"HeaderNotNumeric", "SepalLength,SepalWidth,PetalLength,PetalWidth,label\n",
                "bad.csv:1: bad header"},
        BadCase{"HeaderWrongFeatureCount", "1,3,a,b,c\n1,2,3,4,0\n",
                "bad.csv:1: bad header \"1,3,a,b,c\": declares 3 features"},
        BadCase{"HeaderEmptyClass", "1,4,a,,c\n1,2,3,4,0\n", "class name 2 is empty"},
        BadCase{"RowCountMismatch", "3,4,a,b,c\n1,2,3,4,0\n1,2,3,4,0\n",
                "bad.csv: header declares 3 rows but the file has 2"},
        BadCase{"Empty", "", "bad.csv: empty file"},
        BadCase{"LineNumbersCountBlankLines", "2,4,a,b,c\n1,2,3,4,0\n\n1,x,3,4,0\n",
                "bad.csv:4: column 2"}),
    [](const auto& info) { return std::string(info.param.label); });

}  // namespace
}  // namespace ckpt
