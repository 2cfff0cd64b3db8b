// Fuzzes a V2 bundle (.index + .data) through every read path of
// BundleReader: Open/entries/DebugString, Lookup, Read, ReadInto,
// ReadMany (which must read what Read read), ReadManyInto, ReadSlice
// (stored slices of partitioned tensors and a slice of every tensor),
// ReadView and ReadManyViews (mapped data), string tensors, and the object
// graph of TF2 checkpoints (ObjectCheckpointReader).
// Input: the two-file packing of fuzz_util.h (4-byte LE index length, the
// .index bytes, then the data file's bytes).
#include <memory>
#include <string>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/object_graph.h"
#include "fuzz_util.h"

namespace {

using namespace ckpt;  // NOLINT

volatile uint64_t sink;

void Touch(const Tensor& t) {
  uint64_t h = static_cast<uint64_t>(t.dtype()) + t.shape().rank();
  if (t.dtype() == DataType::kString) {
    for (const std::string& s : t.strings()) h += s.size() + (s.empty() ? 0 : s[0]);
  } else {
    for (char c : t.bytes()) h += static_cast<unsigned char>(c);
  }
  sink = sink + h;
}

// A slice of every dimension: the middle part (start dim/3, length dim/2).
TensorSlice MiddleSlice(const TensorShape& shape) {
  std::vector<TensorSlice::Extent> extents;
  for (int64_t dim : shape.dims()) extents.push_back({dim / 3, dim / 2});
  return TensorSlice(std::move(extents));
}

void Exercise(MemEnv* env, const std::string& prefix, std::string_view data_bytes,
              BundleReaderOptions options, bool write_data) {
  auto reader_or = BundleReader::Open(prefix, options);
  if (!reader_or.ok()) return;
  const BundleReader& reader = **reader_or;
  if (write_data) {
    // Data files are opened lazily, so they can be named after the header.
    const int n = reader.num_shards();
    if (n > 0) {
      ckpt::fuzz::PutFile(env, DataFilename(prefix, 0, n), data_bytes);
      if (n > 1) ckpt::fuzz::PutFile(env, DataFilename(prefix, 1, n), data_bytes);
    }
  }
  sink = sink + reader.DebugString().size();

  std::vector<std::string> keys;
  for (const BundleEntry& e : reader.entries()) keys.push_back(e.key);
  std::vector<Tensor> read;       // tensors Read returned
  std::vector<std::string> read_keys;
  for (const std::string& key : keys) {
    if (!reader.Contains(key)) __builtin_trap();
    auto e = reader.Lookup(key);
    if (!e.ok()) __builtin_trap();
    const BundleEntry entry = **e;
    auto t = reader.Read(key);
    if (t.ok()) {
      Touch(*t);
      read.push_back(*t);
      read_keys.push_back(key);
      // ReadInto a tensor of the stored dtype and shape (known to fit).
      auto dst = Tensor::Allocate(t->dtype(), t->shape());
      if (dst.ok() && reader.ReadInto(key, &*dst).ok()) Touch(*dst);
    }
    for (const TensorSlice& slice : entry.slices) {
      auto s = reader.ReadSlice(key, slice);
      if (s.ok()) Touch(*s);
    }
    auto s = reader.ReadSlice(key, MiddleSlice(entry.shape));
    if (s.ok()) Touch(*s);
    if (options.use_mmap) {
      auto v = reader.ReadView(key);
      if (v.ok()) Touch(*v);
    }
  }
  // Everything that read, at once (fresh destinations).
  std::vector<Tensor> dsts;
  std::vector<ReadTarget> targets;
  for (size_t i = 0; i < read.size(); ++i) {
    auto dst = Tensor::Allocate(read[i].dtype(), read[i].shape());
    if (!dst.ok()) continue;
    dsts.push_back(*dst);
  }
  if (dsts.size() == read.size()) {
    for (size_t i = 0; i < read.size(); ++i) targets.push_back({read_keys[i], &dsts[i]});
    if (reader.ReadManyInto(targets).ok()) {
      for (const Tensor& t : dsts) Touch(t);
    }
  }
  // ReadMany of every key fails or reads them all; of the keys Read read, it
  // must read the same tensors.
  {
    std::vector<std::string_view> all(keys.begin(), keys.end());
    auto many = reader.ReadMany(all);
    if (many.ok()) {
      for (const Tensor& t : *many) Touch(t);
    }
    std::vector<std::string_view> good(read_keys.begin(), read_keys.end());
    auto again = reader.ReadMany(good);
    if (!again.ok() || again->size() != read.size()) __builtin_trap();
    for (size_t i = 0; i < read.size(); ++i) {
      if (!(*again)[i].Equals(read[i])) __builtin_trap();
    }
  }
  if (options.use_mmap) {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    auto v = reader.ReadManyViews(views);
    if (v.ok()) {
      for (const Tensor& t : *v) Touch(t);
    }
  }
  if (reader.Contains(kObjectGraphKey)) {
    CheckpointReaderOptions ro;
    ro.env = env;
    ro.verify_checksums = options.verify_checksums;
    auto object_reader = ObjectCheckpointReader::Open(prefix, ro);
    if (object_reader.ok()) {
      sink = sink + (*object_reader)->graph().DebugString().size();
      for (const ObjectVariableInfo& v : (*object_reader)->Variables()) {
        auto t = (*object_reader)->GetVariable(v.path);
        if (t.ok()) Touch(*t);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view index, data_bytes;
  ckpt::fuzz::SplitIndexAndData(data, size, &index, &data_bytes);
  auto env = NewMemEnv();
  const std::string prefix = "/ckpt/model";
  ckpt::fuzz::PutFile(env.get(), MetaFilename(prefix), index);

  // Unverified and mapped: the fuzzer's changes to the data reach the
  // decoders (a checksum would reject almost all of them).
  BundleReaderOptions fast;
  fast.env = env.get();
  fast.verify_checksums = false;
  fast.use_mmap = true;
  fast.checksum_threads = 0;
  Exercise(env.get(), prefix, data_bytes, fast, /*write_data=*/true);

  // Verified, in small pieces (every pieced and chunked checksum path); with
  // a helper thread for odd-sized inputs.
  BundleReaderOptions verified;
  verified.env = env.get();
  verified.verify_checksums = true;
  verified.use_mmap = (size & 2) != 0;
  verified.checksum_threads = static_cast<int>(size & 1);
  verified.checksum_chunk_bytes = 64;
  Exercise(env.get(), prefix, data_bytes, verified, /*write_data=*/false);
  return 0;
}
