// docs/graph_execution.md's op table names exactly the op types a Session
// runs (SupportedOpTypes), so the page cannot drift from the code.
#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ckpt/session.h"

namespace ckpt {
namespace {

// The `Name` tokens in the first column of the table under "## Op table".
std::set<std::string> OpsInDocTable(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::set<std::string> ops;
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Op table";
    if (!in_section || line.rfind("| `", 0) != 0) continue;
    const std::string first_column = line.substr(1, line.find('|', 1) - 1);
    std::istringstream tokens(first_column);
    std::string token;
    while (tokens >> token) {
      if (token.size() > 2 && token.front() == '`' && token.back() == '`') {
        EXPECT_TRUE(ops.insert(token.substr(1, token.size() - 2)).second)
            << token << " is listed twice";
      }
    }
  }
  return ops;
}

TEST(OpTableTest, DocsListExactlyTheSupportedOpTypes) {
  const std::set<std::string> documented = OpsInDocTable(CKPT_DOCS_DIR "/graph_execution.md");
  const std::vector<std::string> supported = SupportedOpTypes();
  ASSERT_FALSE(supported.empty());
  for (const std::string& op : supported) {
    EXPECT_TRUE(documented.count(op)) << op << " runs but docs/graph_execution.md does not list it";
  }
  for (const std::string& op : documented) {
    EXPECT_TRUE(std::binary_search(supported.begin(), supported.end(), op))
        << op << " is in docs/graph_execution.md but ckpt cannot run it";
  }
}

TEST(OpTableTest, SupportedOpTypesAreSortedAndIncludeTheSessionsOwn) {
  const std::vector<std::string> ops = SupportedOpTypes();
  EXPECT_TRUE(std::is_sorted(ops.begin(), ops.end()));
  EXPECT_EQ(std::adjacent_find(ops.begin(), ops.end()), ops.end());
  for (const char* own : {"Placeholder", "VariableV2", "AssignVariableOp", "MatMul", "Conv2D"}) {
    EXPECT_TRUE(std::binary_search(ops.begin(), ops.end(), std::string(own))) << own;
  }
  EXPECT_FALSE(std::binary_search(ops.begin(), ops.end(), std::string("ApplyAdam")));
}

}  // namespace
}  // namespace ckpt
