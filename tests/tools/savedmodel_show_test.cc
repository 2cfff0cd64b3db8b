// `ckpt savedmodel show` on TF-written SavedModels (tests/savedmodel/testdata),
// its errors, and `ckpt inspect` / `verify` / `ls` given a SavedModel directory.
// The output is compared with saved_model_cli's in
// tests/interop/test_savedmodel_show.py; here the text is checked for the
// parts that follow from the files.
#include <string>
#include <vector>

#include "ckpt/filenames.h"
#include "command.h"
#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TestData(const std::string& name) {
  return JoinPath(CKPT_SAVEDMODEL_TESTDATA, name);
}

TEST(SavedModelShowTest, ListsTagSets) {
  CommandResult r = RunCommandLine({"savedmodel", "show", TestData("half_plus_two")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "The given SavedModel contains the following tag-sets:\n'serve'\n");
  r = RunCommandLine({"savedmodel", "show", "--json", "--dir", TestData("half_plus_two")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"tag_sets\": [[\"serve\"]]}\n");
}

TEST(SavedModelShowTest, ListsSignatureKeysSorted) {
  CommandResult r =
      RunCommandLine({"savedmodel", "show", TestData("half_plus_two"), "--tag_set", "serve"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\n"
            "SignatureDef key: \"classify_x_to_y\"\n"
            "SignatureDef key: \"regress_x2_to_y3\"\n"
            "SignatureDef key: \"regress_x_to_y\"\n"
            "SignatureDef key: \"regress_x_to_y2\"\n"
            "SignatureDef key: \"serving_default\"\n");
}

TEST(SavedModelShowTest, ShowsOneSignature) {
  CommandResult r = RunCommandLine({"savedmodel", "show", TestData("half_plus_two"), "--tag_set",
                                    "serve", "--signature_def", "classify_x_to_y"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "The given SavedModel SignatureDef contains the following input(s):\n"
            "  inputs['inputs'] tensor_info:\n"
            "      dtype: DT_STRING\n"
            "      shape: unknown_rank\n"
            "      name: tf_example:0\n"
            "The given SavedModel SignatureDef contains the following output(s):\n"
            "  outputs['scores'] tensor_info:\n"
            "      dtype: DT_FLOAT\n"
            "      shape: (-1, 1)\n"
            "      name: y:0\n"
            "Method name is: tensorflow/serving/classify\n");
  r = RunCommandLine({"savedmodel", "show", TestData("half_plus_two"), "--tag_set", "serve",
                      "--signature_def", "serving_default", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"key\": \"serving_default\", \"method_name\": \"tensorflow/serving/predict\", "
            "\"inputs\": [{\"key\": \"x\", \"name\": \"x:0\", \"dtype\": \"DT_FLOAT\", "
            "\"shape\": [-1, 1]}], \"outputs\": [{\"key\": \"y\", \"name\": \"y:0\", \"dtype\": "
            "\"DT_FLOAT\", \"shape\": [-1, 1]}]}\n");
}

TEST(SavedModelShowTest, AllShowsEveryMetaGraphAndSaysWhatIsLeftOut) {
  CommandResult tf1 = RunCommandLine({"savedmodel", "show", TestData("half_plus_two"), "--all"});
  ASSERT_EQ(tf1.code, 0) << tf1.err;
  EXPECT_EQ(tf1.out.rfind("\nMetaGraphDef with tag-set: 'serve' contains the following "
                          "SignatureDefs:\n\nsignature_def['classify_x_to_y']:\n"
                          "  The given SavedModel SignatureDef contains the following input(s):\n"
                          "    inputs['inputs'] tensor_info:\n        dtype: DT_STRING\n",
                          0),
            0u)
      << tf1.out;
  EXPECT_THAT(tf1.out, HasSubstr("The MetaGraph with tag set ['serve'] contains the following "
                                 "ops: {'Add', 'Assign', 'Const',"));
  EXPECT_THAT(tf1.out, Not(HasSubstr("Concrete Functions")));
  CommandResult tf2 =
      RunCommandLine({"savedmodel", "show", TestData("half_plus_two_tf2"), "--all"});
  ASSERT_EQ(tf2.code, 0) << tf2.err;
  EXPECT_THAT(tf2.out, HasSubstr("\nConcrete Functions: N/A"));
  EXPECT_THAT(tf2.out, HasSubstr("signature_def['regress_x_to_y']:"));
}

TEST(SavedModelShowTest, ErrorsExitNonZeroWithClearMessages) {
  const std::string dir = TestData("half_plus_two");
  CommandResult r = RunCommandLine({"savedmodel", "show", dir, "--tag_set", "serve,gpu"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("no meta graph with tags {gpu, serve}; it has {serve}"));
  r = RunCommandLine({"savedmodel", "show", dir, "--tag_set", "serve", "--signature_def", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("Could not find signature \"nope\". Please choose from: "
                               "classify_x_to_y, regress_x2_to_y3, regress_x_to_y, "
                               "regress_x_to_y2, serving_default"));
  const std::string empty = testing::TempDir();
  r = RunCommandLine({"savedmodel", "show", empty});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(empty + " is not a SavedModel directory"));
  r = RunCommandLine({"savedmodel", "show", dir, "--signature_def", "serving_default"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("--signature_def needs --tag_set"));
}

TEST(SavedModelShowTest, HelpListsTheSubcommand) {
  CommandResult r = RunCommandLine({"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("savedmodel"));
}

TEST(SavedModelCheckpointCliTest, InspectAndVerifyReadTheVariables) {
  const std::string dir = TestData("half_plus_two");
  CommandResult r = RunCommandLine({"inspect", "--file_name", dir, "--tensor_name", "b"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("tensor_name:  b\n2.0\n", 0), 0u) << r.out;
  r = RunCommandLine({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(SavedModelVariablesPrefix(dir)));
  r = RunCommandLine({"ls", dir});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(SavedModelVariablesPrefix(dir) + "\n"));
}

TEST(SavedModelCheckpointCliTest, MissingVariablesNameTheIndex) {
  const std::string dir = testing::TempDir();
  CKPT_ASSERT_OK(testing::WriteStringToFile(Env::Posix(), SavedModelProtoPath(dir), "x"));
  const std::string index = MetaFilename(SavedModelVariablesPrefix(dir));
  CommandResult r = RunCommandLine({"inspect", "--file_name", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(index));
  r = RunCommandLine({"verify", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(index));
  r = RunCommandLine({"ls", dir});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr(index));
}

}  // namespace
}  // namespace ckpt::tools
