#include "ckpt/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

namespace ckpt {
namespace {

// Allocate puts storage of at least this many bytes on a boundary of
// kAllocationAlignment (a file-system block) rather than malloc's 16 bytes.
constexpr size_t kAlignedAllocationBytes = size_t{1} << 20;
constexpr size_t kAllocationAlignment = 4096;
constexpr size_t kHugePageBytes = Tensor::kHugePageBytes;

// Freed aligned blocks of at most kMaxCachedBlockBytes are kept, up to
// kMaxCachedBytes in all, and handed to the next allocation of the same
// (padded) size instead of going back to malloc. glibc returns freed large
// blocks to the kernel, so a loop that allocates the same large tensors again
// and again (Session::Run on a batch) would otherwise fault every page in and
// have the kernel zero it on every iteration.
constexpr size_t kMaxCachedBlockBytes = size_t{16} << 20;
constexpr size_t kMaxCachedBytes = size_t{64} << 20;

class BlockCache {
 public:
  // A cached block of exactly `bytes`, or null.
  char* Take(size_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      if (blocks_[i].first == bytes) {
        char* p = blocks_[i].second;
        blocks_[i] = blocks_.back();
        blocks_.pop_back();
        cached_ -= bytes;
        return p;
      }
    }
    return nullptr;
  }

  // Keeps `p` (of `bytes`) if it fits the bounds; false: the caller frees it.
  bool Put(char* p, size_t bytes) {
    if (bytes > kMaxCachedBlockBytes) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ + bytes > kMaxCachedBytes) return false;
    blocks_.emplace_back(bytes, p);
    cached_ += bytes;
    return true;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<size_t, char*>> blocks_;
  size_t cached_ = 0;
};

// Storage of `bytes` (a multiple of kAllocationAlignment). From
// kHugePageBytes on, it starts on a huge-page boundary and its whole huge
// pages are advised as such (transparent huge pages in "madvise" mode, the
// default of many distributions): the first touch of new memory then faults
// once per 2 MiB instead of once per 4 KiB, which dominates reading a large
// tensor into fresh memory. The tail keeps small pages: nothing is wasted.
char* AllocateLarge(size_t bytes) {
  if (bytes < kHugePageBytes) {
    return static_cast<char*>(std::aligned_alloc(kAllocationAlignment, bytes));
  }
  void* p = nullptr;
  if (posix_memalign(&p, kHugePageBytes, bytes) != 0) return nullptr;
  // Advice only: where the kernel has no transparent huge pages it fails,
  // and the memory works the same with small pages.
  ::madvise(p, bytes / kHugePageBytes * kHugePageBytes, MADV_HUGEPAGE);
  return static_cast<char*>(p);
}

// Never destroyed: tensors may be freed during static destruction.
BlockCache& Cache() {
  static BlockCache* cache = new BlockCache;
  return *cache;
}

}  // namespace

Result<TensorShape> TensorShape::Make(std::vector<int64_t> dims) {
  int64_t n = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] < 0) {
      return InvalidArgumentError("Invalid tensor shape: dimension " + std::to_string(i) +
                                  " is " + std::to_string(dims[i]) + " (must be >= 0)");
    }
    if (dims[i] > 0 && n > std::numeric_limits<int64_t>::max() / dims[i]) {
      return InvalidArgumentError("Invalid tensor shape: " +
                                  TensorShape(dims).DebugString() +
                                  " has more than 2^63 elements");
    }
    n *= dims[i];
  }
  return TensorShape(std::move(dims));
}

int64_t TensorShape::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims_) n *= d;
  return n;
}

std::string TensorShape::DebugString() const {
  std::string out = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i > 0) out += ",";
    out += dims_[i] < 0 ? "?" : std::to_string(dims_[i]);
  }
  out += "]";
  return out;
}

Tensor::Tensor() : dtype_(DataType::kInvalid) {}

Result<Tensor> Tensor::Allocate(DataType dtype, TensorShape shape) {
  return AllocateStorage(dtype, std::move(shape), /*zeroed=*/true);
}

Result<Tensor> Tensor::AllocateUninitialized(DataType dtype, TensorShape shape) {
  return AllocateStorage(dtype, std::move(shape), /*zeroed=*/false);
}

Result<Tensor> Tensor::AllocateStorage(DataType dtype, TensorShape shape, bool zeroed) {
  if (!IsStorable(dtype)) {
    return InvalidArgumentError("Cannot allocate a tensor of dtype " +
                                std::string(DataTypeName(dtype)));
  }
  CKPT_ASSIGN_OR_RETURN(shape, TensorShape::Make(shape.dims()));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  int64_t n = t.shape_.num_elements();
  if (dtype == DataType::kString) {
    t.strings_ = std::make_shared<std::vector<std::string>>(static_cast<size_t>(n));
    return t;
  }
  size_t elem = DataTypeSize(dtype);
  if (n > 0 && static_cast<uint64_t>(n) > std::numeric_limits<uint64_t>::max() / 2 / elem) {
    return ResourceExhaustedError("Tensor of shape " + t.shape_.DebugString() +
                                  " is too large to allocate");
  }
  size_t bytes = static_cast<size_t>(n) * elem;
  if (bytes >= kAlignedAllocationBytes) {
    // Block-aligned, so that a direct-IO file can write the tensor straight
    // from this memory (WritableFile::AppendsWithoutCopy) instead of copying
    // it into its staging buffers. aligned_alloc wants a multiple of the
    // alignment; the padding is never part of the tensor.
    const size_t padded =
        (bytes + kAllocationAlignment - 1) / kAllocationAlignment * kAllocationAlignment;
    char* p = Cache().Take(padded);
    if (p == nullptr) p = AllocateLarge(padded);
    if (p != nullptr) {
      if (zeroed) std::memset(p, 0, bytes);
      t.owner_ = std::shared_ptr<char[]>(p, [padded](char* q) {
        if (!Cache().Put(q, padded)) std::free(q);
      });
    }
  } else if (zeroed) {
    // Value-initialised (zeroed); at least one byte so data() is never null.
    t.owner_ = std::shared_ptr<char[]>(new (std::nothrow) char[bytes == 0 ? 1 : bytes]());
  } else {
    t.owner_ = std::shared_ptr<char[]>(new (std::nothrow) char[bytes == 0 ? 1 : bytes]);
  }
  if (t.owner_ == nullptr) {
    return ResourceExhaustedError("Out of memory allocating " + std::to_string(bytes) +
                                  " bytes for a tensor of shape " + t.shape_.DebugString());
  }
  t.data_ = t.owner_.get();
  return t;
}

Tensor Tensor::View(DataType dtype, TensorShape shape, const void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.data_ = static_cast<const char*>(data);
  return t;
}

Result<Tensor> Tensor::FromStrings(TensorShape shape, std::vector<std::string> values) {
  CKPT_ASSIGN_OR_RETURN(shape, TensorShape::Make(shape.dims()));
  if (static_cast<int64_t>(values.size()) != shape.num_elements()) {
    return InvalidArgumentError("String tensor of shape " + shape.DebugString() + " needs " +
                                std::to_string(shape.num_elements()) + " values, got " +
                                std::to_string(values.size()));
  }
  Tensor t;
  t.dtype_ = DataType::kString;
  t.shape_ = std::move(shape);
  t.strings_ = std::make_shared<std::vector<std::string>>(std::move(values));
  return t;
}

Tensor Tensor::StringScalar(std::string value) {
  std::vector<std::string> v;
  v.push_back(std::move(value));
  return FromStrings(TensorShape(), std::move(v)).value();
}

size_t Tensor::byte_size() const {
  return static_cast<size_t>(num_elements()) * DataTypeSize(dtype_);
}

Tensor Tensor::Copy() const {
  if (dtype_ == DataType::kInvalid) return Tensor();
  if (dtype_ == DataType::kString) return FromStrings(shape_, *strings_).value();
  Tensor t = AllocateUninitialized(dtype_, shape_).value();
  if (byte_size() > 0) std::memcpy(t.mutable_data(), data_, byte_size());
  return t;
}

bool Tensor::Equals(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  if (dtype_ == DataType::kString) return *strings_ == *other.strings_;
  if (dtype_ == DataType::kInvalid) return true;
  return byte_size() == 0 || std::memcmp(data_, other.data_, byte_size()) == 0;
}

}  // namespace ckpt
