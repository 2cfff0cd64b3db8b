// Tests of tools/progress.h: what the bar draws, its throttling, erasing,
// and that a disabled bar (stderr not a terminal) prints nothing.
#include "progress.h"

#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "testutil/testutil.h"

namespace ckpt::tools {
namespace {

using ::testing::HasSubstr;

TEST(ProgressBarTest, DisabledPrintsNothing) {
  std::ostringstream out;
  {
    ProgressBar bar(out, /*enabled=*/false, "verifying");
    bar.Update(5, 10);
    bar.Update(10, 10);
    bar.Finish();
  }
  EXPECT_EQ(out.str(), "");
}

TEST(ProgressBarTest, DrawsInPlaceAndErasesAtTheEnd) {
  std::ostringstream out;
  ProgressBar bar(out, /*enabled=*/true, "verifying");
  bar.Update(512, 2048);
  const std::string first = out.str();
  EXPECT_EQ(first.rfind("\rverifying [=======>", 0), 0u) << first;
  EXPECT_THAT(first, HasSubstr("  25%  512 B / 2.0 KiB"));
  // Within the redraw interval an intermediate update is skipped; the last
  // one (complete) is always drawn.
  bar.Update(1024, 2048);
  EXPECT_EQ(out.str(), first);
  bar.Update(2048, 2048);
  EXPECT_THAT(out.str().substr(first.size()), HasSubstr("] 100%  2.0 KiB / 2.0 KiB"));
  bar.Finish();
  EXPECT_TRUE(out.str().size() >= 4 && out.str().substr(out.str().size() - 4) == "\r\033[K");
  const size_t size = out.str().size();
  bar.Update(2048, 2048);  // finished: nothing more
  bar.Finish();
  EXPECT_EQ(out.str().size(), size);
}

TEST(ProgressBarTest, UnknownTotalShowsBytesOnly) {
  std::ostringstream out;
  ProgressBar bar(out, true, "merging");
  bar.Update(3 * 1024 * 1024, 0);
  EXPECT_EQ(out.str(), "\rmerging 3.0 MiB\033[K");
}

TEST(ProgressBarTest, FormatBytes) {
  EXPECT_EQ(ProgressBar::FormatBytes(0), "0 B");
  EXPECT_EQ(ProgressBar::FormatBytes(1023), "1023 B");
  EXPECT_EQ(ProgressBar::FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(ProgressBar::FormatBytes(uint64_t{5} << 30), "5.0 GiB");
}

TEST(ProgressBarTest, QuietWhenAskedOrNotATerminal) {
  // Under ctest stderr is a pipe or a file; CKPT_NO_PROGRESS forces quiet.
  setenv("CKPT_NO_PROGRESS", "1", 1);
  EXPECT_FALSE(ProgressBar::ShouldDraw());
  unsetenv("CKPT_NO_PROGRESS");
  if (!isatty(STDERR_FILENO)) EXPECT_FALSE(ProgressBar::ShouldDraw());
}

}  // namespace
}  // namespace ckpt::tools
