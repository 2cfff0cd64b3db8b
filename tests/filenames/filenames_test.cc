// Checkpoint file names: building (ckpt/filenames.h) and parsing
// (filenames/filenames.h), with the edge cases of each parser.
#include "filenames/filenames.h"

#include "testutil/testutil.h"

namespace ckpt {
namespace {

TEST(FilenamesTest, PublicNames) {
  EXPECT_EQ(MetaFilename("dir/model.ckpt-1"), "dir/model.ckpt-1.index");
  EXPECT_EQ(DataFilename("dir/model.ckpt-1", 3, 8), "dir/model.ckpt-1.data-00003-of-00008");
  EXPECT_EQ(DataFilename("p", 0, 1), "p.data-00000-of-00001");
  EXPECT_EQ(DataFilename("p", 123456, 123457), "p.data-123456-of-123457");
  EXPECT_STREQ(kDefaultStateFilename, "checkpoint");
  EXPECT_STREQ(kDefaultMetaGraphSuffix, "meta");
}

TEST(FilenamesTest, MetaGraphFilename) {
  EXPECT_EQ(MetaGraphFilename("dir/model-1000"), "dir/model-1000.meta");
  EXPECT_EQ(MetaGraphFilename("dir/model-1000", "mg"), "dir/model-1000.mg");
  // A sharded V1 name loses its shard suffix, as TF's meta_graph_filename.
  EXPECT_EQ(MetaGraphFilename("dir/model-?????" "-of-00002"), "dir/model.meta");
  EXPECT_EQ(MetaGraphFilename("dir/model-00001-of-00002"), "dir/model.meta");
  EXPECT_EQ(MetaGraphFilename("dir/model-1-of-2-x"), "dir/model-1-of-2-x.meta");
}

TEST(FilenamesTest, CheckpointPrefixWithStep) {
  EXPECT_EQ(CheckpointPrefixWithStep("dir/model.ckpt", 42), "dir/model.ckpt-42");
  EXPECT_EQ(CheckpointPrefixWithStep("dir/model.ckpt", 42, 8), "dir/model.ckpt-00000042");
  EXPECT_EQ(CheckpointPrefixWithStep("ckpt", 0), "ckpt-0");
  EXPECT_EQ(CheckpointPrefixWithStep("ckpt", -5), "ckpt--5");
  EXPECT_EQ(CheckpointPrefixWithStep("ckpt", -5, 8), "ckpt--0000005");  // printf's "%08"
  EXPECT_EQ(CheckpointPrefixWithStep("ckpt", 123456789, 8), "ckpt-123456789");
}

TEST(FilenamesTest, StepOf) {
  EXPECT_EQ(StepOf("dir/ckpt-42"), 42);
  EXPECT_EQ(StepOf("ckpt-0"), 0);
  EXPECT_EQ(StepOf("ckpt-00000042"), 42);
  EXPECT_EQ(StepOf("a-b/ckpt"), std::nullopt);  // the '-' of the directory does not count
  EXPECT_EQ(StepOf("ckpt"), std::nullopt);
  EXPECT_EQ(StepOf("ckpt-"), std::nullopt);
  EXPECT_EQ(StepOf("ckpt-4a"), std::nullopt);
  EXPECT_EQ(StepOf("ckpt- 4"), std::nullopt);
  EXPECT_EQ(StepOf("ckpt-123456789012345678"), 123456789012345678);
  EXPECT_EQ(StepOf("ckpt-1234567890123456789"), std::nullopt);  // 19 digits
  EXPECT_EQ(StepOf("model-1-2"), 2);
}

TEST(FilenamesTest, StepBasename) {
  EXPECT_EQ(StepBasename("dir/ckpt-42"), "ckpt");
  EXPECT_EQ(StepBasename("dir/model.ckpt-10"), "model.ckpt");
  EXPECT_EQ(StepBasename("model-1-2"), "model-1");
  EXPECT_EQ(StepBasename("dir/ckpt"), "");
  EXPECT_EQ(StepBasename("ckpt-x"), "");
}

TEST(FilenamesTest, SplitCheckpointName) {
  std::string_view rest;
  ASSERT_TRUE(SplitCheckpointName("model.ckpt-10.index", "model.ckpt", &rest));
  EXPECT_EQ(rest, ".index");
  ASSERT_TRUE(SplitCheckpointName("model.ckpt.index", "model.ckpt", &rest));
  EXPECT_EQ(rest, ".index");
  ASSERT_TRUE(SplitCheckpointName("model.ckpt-1_temp", "model.ckpt", &rest));
  EXPECT_EQ(rest, "_temp");
  // No digits after the '-': the '-' is part of the rest.
  ASSERT_TRUE(SplitCheckpointName("model.ckpt-x.index", "model.ckpt", &rest));
  EXPECT_EQ(rest, "-x.index");
  // More than 18 digits are not a step.
  ASSERT_TRUE(SplitCheckpointName("m-1234567890123456789.index", "m", &rest));
  EXPECT_EQ(rest, "-1234567890123456789.index");
  EXPECT_FALSE(SplitCheckpointName("other-1.index", "model", &rest));
  EXPECT_FALSE(SplitCheckpointName("mod", "model", &rest));
  EXPECT_FALSE(SplitCheckpointName("anything", "", &rest));
}

TEST(FilenamesTest, IsNumberedCheckpointName) {
  EXPECT_TRUE(IsNumberedCheckpointName("ckpt-1", "ckpt"));
  EXPECT_TRUE(IsNumberedCheckpointName("ckpt-10", "ckpt"));
  EXPECT_TRUE(IsNumberedCheckpointName("ckpt--3", "ckpt"));
  EXPECT_TRUE(IsNumberedCheckpointName("ckpt-12345678901234567890", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckpt", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckpt-", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckpt--", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckpt-1a", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckpt_1", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckpt2-1", "ckpt"));
  EXPECT_FALSE(IsNumberedCheckpointName("ckp-1", "ckpt"));
}

TEST(FilenamesTest, IndexFilePrefix) {
  EXPECT_EQ(IndexFilePrefix("ckpt-1.index"), "ckpt-1");
  EXPECT_EQ(IndexFilePrefix("a.index.index"), "a.index");
  EXPECT_EQ(IndexFilePrefix(".index"), std::nullopt);
  EXPECT_EQ(IndexFilePrefix("ckpt-1.index.tmp"), std::nullopt);
  EXPECT_EQ(IndexFilePrefix("ckpt-1.inde"), std::nullopt);
}

TEST(FilenamesTest, ParseDataSuffix) {
  auto s = ParseDataSuffix(".data-00003-of-00008");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->shard_id, 3);
  EXPECT_EQ(s->num_shards, 8);
  EXPECT_FALSE(ParseDataSuffix(".data-0003-of-00008"));    // four digits
  EXPECT_FALSE(ParseDataSuffix(".data-000003-of-00008"));  // six digits
  EXPECT_FALSE(ParseDataSuffix(".data-00003-of-0008"));
  EXPECT_FALSE(ParseDataSuffix(".data-00003-of-000080"));
  EXPECT_FALSE(ParseDataSuffix(".data-0000a-of-00008"));   // bad digit
  EXPECT_FALSE(ParseDataSuffix(".data-00003-of-0000 "));
  EXPECT_FALSE(ParseDataSuffix(".data-00003_of_00008"));
  EXPECT_FALSE(ParseDataSuffix(".data-?????" "-of-?????"));
  EXPECT_FALSE(ParseDataSuffix("data-00003-of-00008"));
  EXPECT_FALSE(ParseDataSuffix(".data-00003-of-00008.tmp"));
  EXPECT_FALSE(ParseDataSuffix(""));
}

TEST(FilenamesTest, IsDataFileOfTellsPrefixesOfOthersApart) {
  EXPECT_TRUE(IsDataFileOf("model.ckpt-1.data-00000-of-00001", "model.ckpt-1"));
  EXPECT_FALSE(IsDataFileOf("model.ckpt-10.data-00000-of-00001", "model.ckpt-1"));
  EXPECT_TRUE(IsDataFileOf("model.ckpt-10.data-00000-of-00001", "model.ckpt-10"));
  EXPECT_FALSE(IsDataFileOf("model.ckpt-1.data-00000-of-00001", "model.ckpt-10"));
  EXPECT_FALSE(IsDataFileOf("model.ckpt-1.index", "model.ckpt-1"));
  EXPECT_FALSE(IsDataFileOf("model.ckpt-1.data-0000-of-00001", "model.ckpt-1"));
}

TEST(FilenamesTest, MatchesDataFileGlob) {
  EXPECT_TRUE(MatchesDataFileGlob("m-1.data-00000-of-00001", "m-1"));
  // '?' is any character, as TF's glob.
  EXPECT_TRUE(MatchesDataFileGlob("m-1.data-abcde-of-fghij", "m-1"));
  EXPECT_FALSE(MatchesDataFileGlob("m-10.data-00000-of-00001", "m-1"));
  EXPECT_FALSE(MatchesDataFileGlob("m-1.data-0000-of-00001", "m-1"));
  EXPECT_FALSE(MatchesDataFileGlob("m-1.data-00000-of-00001.tmp", "m-1"));
  // The prefix is literal: a '?' in it matches only '?'.
  EXPECT_FALSE(MatchesDataFileGlob("mX1.data-00000-of-00001", "m?1"));
  EXPECT_TRUE(MatchesDataFileGlob("m?1.data-00000-of-00001", "m?1"));
}

TEST(FilenamesTest, DataFileStem) {
  EXPECT_EQ(DataFileStem("m-5.data-00000-of-00001"), "m-5");
  EXPECT_EQ(DataFileStem("m-5.data-x"), "m-5");
  EXPECT_EQ(DataFileStem("a.data-b.data-c"), "a");
  EXPECT_EQ(DataFileStem("m-5.index"), std::nullopt);
}

TEST(FilenamesTest, IsCheckpointFileSuffix) {
  EXPECT_TRUE(IsCheckpointFileSuffix(".index"));
  EXPECT_TRUE(IsCheckpointFileSuffix(".meta"));
  EXPECT_TRUE(IsCheckpointFileSuffix(".data-00000-of-00001"));
  EXPECT_FALSE(IsCheckpointFileSuffix(".data-0-of-1"));
  EXPECT_FALSE(IsCheckpointFileSuffix(".index.tmp"));
  EXPECT_FALSE(IsCheckpointFileSuffix(""));
  EXPECT_FALSE(IsCheckpointFileSuffix("_temp"));
}

TEST(FilenamesTest, IsFileOfCheckpoint) {
  EXPECT_TRUE(IsFileOfCheckpoint("model.ckpt-1.index", "model.ckpt-1"));
  EXPECT_TRUE(IsFileOfCheckpoint("model.ckpt-1.meta", "model.ckpt-1"));
  EXPECT_TRUE(IsFileOfCheckpoint("model.ckpt-1.data-00000-of-00001", "model.ckpt-1"));
  EXPECT_TRUE(IsFileOfCheckpoint("model.ckpt-1.data-anything", "model.ckpt-1"));
  EXPECT_TRUE(IsFileOfCheckpoint("model.ckpt-1", "model.ckpt-1"));  // V1
  EXPECT_FALSE(IsFileOfCheckpoint("model.ckpt-10.index", "model.ckpt-1"));
  EXPECT_FALSE(IsFileOfCheckpoint("model.ckpt-10.data-00000-of-00001", "model.ckpt-1"));
  EXPECT_FALSE(IsFileOfCheckpoint("model.ckpt-10", "model.ckpt-1"));
  EXPECT_FALSE(IsFileOfCheckpoint("model.ckpt-1.indexx", "model.ckpt-1"));
  // V1 globs.
  EXPECT_TRUE(IsFileOfCheckpoint("model-00001-of-00002", "model-?????" "-of-00002"));
  EXPECT_FALSE(IsFileOfCheckpoint("model-0001-of-00002", "model-?????" "-of-00002"));
}

TEST(FilenamesTest, HasMetaGraphSuffix) {
  EXPECT_TRUE(HasMetaGraphSuffix("dir/m-1.meta"));
  EXPECT_FALSE(HasMetaGraphSuffix("dir/m-1.meta.tmp"));
  EXPECT_FALSE(HasMetaGraphSuffix("meta"));
}

TEST(FilenamesTest, CheckpointFileExtensionIn) {
  EXPECT_EQ(CheckpointFileExtensionIn("dir/m-1.index"), ".index");
  EXPECT_EQ(CheckpointFileExtensionIn("dir/m-1.meta"), ".meta");
  EXPECT_EQ(CheckpointFileExtensionIn("dir/m-1.data-00000-of-00001"), ".data-");
  EXPECT_EQ(CheckpointFileExtensionIn("dir/m.index-1.data-00000-of-00001"), ".data-");
  EXPECT_EQ(CheckpointFileExtensionIn("dir/m-1"), "");
  EXPECT_EQ(CheckpointFileExtensionIn("dir/m-1.data"), "");
}

TEST(FilenamesTest, V1PathIsGlob) {
  EXPECT_TRUE(V1PathIsGlob("dir/model-?????" "-of-00002"));
  EXPECT_TRUE(V1PathIsGlob("dir/model-*"));
  EXPECT_FALSE(V1PathIsGlob("d?r/model-00001-of-00002"));  // only the base name counts
  EXPECT_FALSE(V1PathIsGlob("dir/model.ckpt-1"));
}

TEST(FilenamesTest, ShardedSaveNames) {
  EXPECT_EQ(ShardedFilename("dir/model", 1, 2), "dir/model-00001-of-00002");
  EXPECT_EQ(ShardedSaveDirName("dir/model.ckpt-5"), "dir/model.ckpt-5_temp");
  EXPECT_EQ(ShardPartPrefix("dir/m_temp.ckpt-tmp.1.ab", 0, 3),
            "dir/m_temp.ckpt-tmp.1.ab/part-00000-of-00003");
}

TEST(FilenamesTest, IsShardPartFileName) {
  EXPECT_TRUE(IsShardPartFileName("part-00000-of-00002.index"));
  EXPECT_TRUE(IsShardPartFileName("part-00001-of-00002.data-00000-of-00001"));
  EXPECT_FALSE(IsShardPartFileName("part-00001-of-00002"));
  EXPECT_FALSE(IsShardPartFileName("part-0001-of-00002.index"));
  EXPECT_FALSE(IsShardPartFileName("part-00001-of-0002.index"));
  EXPECT_FALSE(IsShardPartFileName("part-0000x-of-00002.index"));
  EXPECT_FALSE(IsShardPartFileName("part-00001-of-00002.data-0-of-1"));
  EXPECT_FALSE(IsShardPartFileName("part-00001-of-00002.meta"));
  EXPECT_FALSE(IsShardPartFileName("parts-00001-of-00002.index"));
  EXPECT_FALSE(IsShardPartFileName("x"));
}

TEST(FilenamesTest, IsForeignTempName) {
  EXPECT_TRUE(IsForeignTempName("checkpoint.tmp123"));
  EXPECT_TRUE(IsForeignTempName("model-1.index.tempstate456"));
  EXPECT_TRUE(IsForeignTempName("a.data-00000-of-00001.tempstate1"));
  EXPECT_FALSE(IsForeignTempName("checkpoint.tmp"));
  EXPECT_FALSE(IsForeignTempName("checkpoint.tmpx1"));
  EXPECT_FALSE(IsForeignTempName("model.tempstate"));
  EXPECT_FALSE(IsForeignTempName("model-1.index"));
}

}  // namespace
}  // namespace ckpt
