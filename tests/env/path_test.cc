// Path helpers: JoinPath/Dirname/Basename (ckpt/env.h) and GlobMatch
// (env/path.h).
#include "env/path.h"

#include "ckpt/env.h"
#include "testutil/testutil.h"

namespace ckpt {
namespace {

const std::string kFiveQ = "?????";

TEST(GlobMatchTest, Wildcards) {
  EXPECT_TRUE(GlobMatch("model-" + kFiveQ + "-of-00002", "model-00001-of-00002"));
  EXPECT_FALSE(GlobMatch("model-" + kFiveQ + "-of-00002", "model-0001-of-00002"));
  EXPECT_FALSE(GlobMatch("model-" + kFiveQ + "-of-00002", "model-00001-of-00002.tempstate1"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_FALSE(GlobMatch("?", ""));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXbYbZc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXbYbZ"));
  EXPECT_TRUE(GlobMatch("*.txt", "a.txt.txt"));
  EXPECT_FALSE(GlobMatch("*.txt", "a.txt.bak"));
  EXPECT_TRUE(GlobMatch("exact", "exact"));
  EXPECT_FALSE(GlobMatch("exact", "exact2"));
  EXPECT_TRUE(GlobMatch("**x", "x"));
  EXPECT_TRUE(GlobMatch("", ""));
  EXPECT_FALSE(GlobMatch("", "a"));
}

TEST(GlobMatchTest, HasGlobWildcard) {
  EXPECT_TRUE(HasGlobWildcard("model-" + kFiveQ + "-of-00002"));
  EXPECT_TRUE(HasGlobWildcard("*"));
  EXPECT_FALSE(HasGlobWildcard("model.ckpt-10"));
  EXPECT_FALSE(HasGlobWildcard(""));
}

TEST(PathTest, JoinPath) {
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
  EXPECT_EQ(JoinPath("a/", "b"), "a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", ""), "a");
  EXPECT_EQ(JoinPath("a", "/abs"), "/abs");
  EXPECT_EQ(JoinPath("/x/y", "z/w"), "/x/y/z/w");
}

TEST(PathTest, DirnameBasename) {
  EXPECT_EQ(Dirname("a/b/c"), "a/b");
  EXPECT_EQ(Dirname("c"), "");
  EXPECT_EQ(Dirname("/c"), "/");
  EXPECT_EQ(Basename("a/b/c"), "c");
  EXPECT_EQ(Basename("c"), "c");
  EXPECT_EQ(Basename("/c"), "c");
  EXPECT_TRUE(IsAbsolutePath("/a"));
  EXPECT_FALSE(IsAbsolutePath("a/b"));
  EXPECT_FALSE(IsAbsolutePath(""));
}

}  // namespace
}  // namespace ckpt
