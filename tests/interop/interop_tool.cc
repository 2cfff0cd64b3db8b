// ckpt_interop_tool: moves tensors bit-exactly between Python (TensorFlow)
// and ckpt for the interop tests. Not installed.
//
//   ckpt_interop_tool dump <checkpoint path> <outdir>
//       Opens the checkpoint with ckpt::CheckpointReader and writes
//       <outdir>/manifest.txt and <outdir>/data.bin holding every variable.
//   ckpt_interop_tool write [--alignment=N] <prefix> <manifest>
//       Writes a bundle at <prefix> with ckpt::BundleWriter from a manifest,
//       tensors in manifest order. With "shards N" in the manifest, each
//       tensor goes to the shard bundle named by its shard= field
//       (<prefix>_temp/part-SSSSS-of-NNNNN, as TensorFlow names them) and the
//       shards are merged into <prefix> with ckpt::MergeBundles.
//
// Manifest (text, one record per line, tokens separated by single spaces):
//   ckpt-interop 1
//   data <file name of the blob, relative to the manifest's directory>
//   format V1|V2                 (dump only)
//   prefix <hex>                 (dump only: the checkpoint actually opened)
//   shards <N>                   (write only, optional; default: no merge)
//   tensor <hex name> <DT_NAME> <rank> <dim>... <offset> <nbytes> [key=value]...
//   error <hex name> <DT_NAME> <rank> <dim>... <hex status>   (dump only: a
//                                listed variable that could not be read)
// Optional tensor fields (write only): slice=<hex of a SaveV2 shape_and_slice
// spec, e.g. "10 4 0,5:-">, shard=<k>. When a slice is given, the tensor's
// shape is the slice's shape.
//
// Blob layout at [offset, offset+nbytes): fixed-size dtypes are the raw
// little-endian element bytes in row-major order; DT_STRING elements are each
// a uint64 little-endian length followed by that many bytes. Names and specs
// are hex so that any bytes (NUL, '/', non-UTF-8, spaces) survive.
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ckpt/bundle.h"
#include "ckpt/checkpoint_reader.h"
#include "ckpt/env.h"
#include "ckpt/status.h"
#include "ckpt/tensor.h"
#include "ckpt/tensor_slice.h"
#include "ckpt/types.h"

namespace {

using ckpt::DataType;
using ckpt::Result;
using ckpt::Status;
using ckpt::StatusCode;
using ckpt::Tensor;
using ckpt::TensorShape;

Status Error(std::string message) {
  return Status(StatusCode::kInvalidArgument, std::move(message));
}

std::string HexEncode(std::string_view s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Error("odd-length hex string \"" + std::string(hex) + "\"");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error("bad hex string \"" + std::string(hex) + "\"");
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

Result<int64_t> ParseInt(const std::string& s) {
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0') return Error("not an integer: \"" + s + "\"");
  return static_cast<int64_t>(v);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void PutU64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// ---------------------------------------------------------------- dump

Status WriteAll(std::FILE* f, const char* data, size_t n, const std::string& path) {
  if (n > 0 && std::fwrite(data, 1, n, f) != n) {
    return Status(StatusCode::kIoError, "write to " + path + " failed: " + std::strerror(errno));
  }
  return Status::OK();
}

Status Dump(const std::string& path, const std::string& outdir) {
  CKPT_ASSIGN_OR_RETURN(auto reader, ckpt::CheckpointReader::Open(path));
  const std::string blob_path = outdir + "/data.bin";
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> blob(std::fopen(blob_path.c_str(), "wb"),
                                                      &std::fclose);
  if (!blob) return Status(StatusCode::kIoError, "cannot create " + blob_path);

  std::ostringstream manifest;
  manifest << "ckpt-interop 1\n"
           << "data data.bin\n"
           << "format "
           << (reader->format() == ckpt::CheckpointReader::Format::kV2 ? "V2" : "V1") << "\n"
           << "prefix " << HexEncode(reader->prefix()) << "\n";
  uint64_t offset = 0;
  for (const ckpt::VariableInfo& var : reader->variables()) {
    Result<Tensor> read = reader->GetTensor(var.name);
    if (!read.ok()) {
      // Recorded, not fatal: the test decides whether TensorFlow agrees
      // that this variable cannot be read.
      manifest << "error " << HexEncode(var.name) << " " << ckpt::DataTypeEnumName(var.dtype)
               << " " << var.shape.rank();
      for (int64_t d : var.shape.dims()) manifest << " " << d;
      manifest << " " << HexEncode(read.status().ToString()) << "\n";
      continue;
    }
    const Tensor& t = read.value();
    if (t.dtype() != var.dtype || t.shape() != var.shape) {
      return Status(StatusCode::kInternal,
                    "variable \"" + var.name + "\" is listed as " +
                        std::string(ckpt::DataTypeEnumName(var.dtype)) + " " +
                        var.shape.DebugString() + " but reads as " +
                        std::string(ckpt::DataTypeEnumName(t.dtype())) + " " +
                        t.shape().DebugString());
    }
    uint64_t nbytes = 0;
    if (t.dtype() == DataType::kString) {
      std::string buf;
      for (const std::string& s : t.strings()) {
        PutU64(&buf, s.size());
        buf += s;
      }
      CKPT_RETURN_IF_ERROR(WriteAll(blob.get(), buf.data(), buf.size(), blob_path));
      nbytes = buf.size();
    } else {
      CKPT_RETURN_IF_ERROR(WriteAll(blob.get(), t.data(), t.byte_size(), blob_path));
      nbytes = t.byte_size();
    }
    manifest << "tensor " << HexEncode(var.name) << " " << ckpt::DataTypeEnumName(t.dtype())
             << " " << t.shape().rank();
    for (int64_t d : t.shape().dims()) manifest << " " << d;
    manifest << " " << offset << " " << nbytes << "\n";
    offset += nbytes;
  }
  if (std::fflush(blob.get()) != 0) return Status(StatusCode::kIoError, "flush " + blob_path);
  std::ofstream mf(outdir + "/manifest.txt", std::ios::binary);
  mf << manifest.str();
  mf.close();
  if (!mf) return Status(StatusCode::kIoError, "cannot write " + outdir + "/manifest.txt");
  return Status::OK();
}

// ---------------------------------------------------------------- write

struct Record {
  std::string name;
  DataType dtype = DataType::kInvalid;
  std::vector<int64_t> dims;
  uint64_t offset = 0;
  uint64_t nbytes = 0;
  bool has_spec = false;
  std::string spec;
  int shard = 0;
};

struct Manifest {
  std::string data_file;
  int shards = 0;  // 0: write <prefix> directly
  std::vector<Record> records;
};

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string tok;
  while (in >> tok) out.push_back(tok);
  return out;
}

Result<Manifest> ReadManifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kNotFound, "cannot open manifest " + path);
  Manifest m;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::vector<std::string> tok = Split(line);
    if (tok.empty() || tok[0][0] == '#') continue;
    auto where = [&] { return path + ":" + std::to_string(lineno) + ": "; };
    if (tok[0] == "ckpt-interop") {
      if (tok.size() != 2 || tok[1] != "1") return Error(where() + "unsupported manifest version");
    } else if (tok[0] == "data" && tok.size() == 2) {
      m.data_file = tok[1][0] == '/' ? tok[1] : DirName(path) + "/" + tok[1];
    } else if (tok[0] == "shards" && tok.size() == 2) {
      CKPT_ASSIGN_OR_RETURN(int64_t n, ParseInt(tok[1]));
      if (n < 1) return Error(where() + "shards must be >= 1");
      m.shards = static_cast<int>(n);
    } else if (tok[0] == "format" || tok[0] == "prefix" || tok[0] == "error") {
      // Informational (dump output); ignored.
    } else if (tok[0] == "tensor" && tok.size() >= 6) {
      Record r;
      CKPT_ASSIGN_OR_RETURN(r.name, HexDecode(tok[1]));
      auto dt = ckpt::DataTypeFromName(tok[2]);
      if (!dt) return Error(where() + "unknown dtype \"" + tok[2] + "\"");
      r.dtype = *dt;
      CKPT_ASSIGN_OR_RETURN(int64_t rank, ParseInt(tok[3]));
      if (rank < 0 || tok.size() < static_cast<size_t>(6 + rank)) {
        return Error(where() + "bad rank or too few fields");
      }
      size_t i = 4;
      for (int64_t d = 0; d < rank; ++d) {
        CKPT_ASSIGN_OR_RETURN(int64_t dim, ParseInt(tok[i++]));
        r.dims.push_back(dim);
      }
      CKPT_ASSIGN_OR_RETURN(int64_t off, ParseInt(tok[i++]));
      CKPT_ASSIGN_OR_RETURN(int64_t len, ParseInt(tok[i++]));
      if (off < 0 || len < 0) return Error(where() + "negative offset or size");
      r.offset = static_cast<uint64_t>(off);
      r.nbytes = static_cast<uint64_t>(len);
      for (; i < tok.size(); ++i) {
        size_t eq = tok[i].find('=');
        std::string key = tok[i].substr(0, eq);
        std::string value = eq == std::string::npos ? "" : tok[i].substr(eq + 1);
        if (key == "slice") {
          CKPT_ASSIGN_OR_RETURN(r.spec, HexDecode(value));
          r.has_spec = true;
        } else if (key == "shard") {
          CKPT_ASSIGN_OR_RETURN(int64_t k, ParseInt(value));
          r.shard = static_cast<int>(k);
        } else {
          return Error(where() + "unknown tensor field \"" + tok[i] + "\"");
        }
      }
      m.records.push_back(std::move(r));
    } else {
      return Error(where() + "cannot parse \"" + line + "\"");
    }
  }
  if (m.data_file.empty() && !m.records.empty()) return Error(path + ": no \"data\" line");
  for (const Record& r : m.records) {
    int n = m.shards == 0 ? 1 : m.shards;
    if (r.shard < 0 || r.shard >= n) {
      return Error(path + ": tensor \"" + r.name + "\" has shard " + std::to_string(r.shard) +
                   " outside [0, " + std::to_string(n) + ")");
    }
  }
  return m;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status(StatusCode::kNotFound, "cannot open " + path);
  std::string data(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!data.empty() && !in.read(&data[0], static_cast<std::streamsize>(data.size()))) {
    return Status(StatusCode::kIoError, "cannot read " + path);
  }
  return data;
}

// Builds the tensor for `r`; fixed-size tensors are views into `blob`.
Result<Tensor> MakeTensor(const Record& r, const std::string& blob) {
  CKPT_ASSIGN_OR_RETURN(TensorShape shape, TensorShape::Make(r.dims));
  if (r.offset > blob.size() || r.nbytes > blob.size() - r.offset) {
    return Error("tensor \"" + r.name + "\" lies outside the data file");
  }
  const char* p = blob.data() + r.offset;
  if (r.dtype == DataType::kString) {
    std::vector<std::string> values;
    uint64_t pos = 0;
    while (pos < r.nbytes) {
      if (r.nbytes - pos < 8) return Error("truncated string length in \"" + r.name + "\"");
      uint64_t len = GetU64(p + pos);
      pos += 8;
      if (len > r.nbytes - pos) return Error("truncated string in \"" + r.name + "\"");
      values.emplace_back(p + pos, len);
      pos += len;
    }
    return Tensor::FromStrings(std::move(shape), std::move(values));
  }
  if (!ckpt::IsFixedSize(r.dtype)) {
    return Error("dtype " + std::string(ckpt::DataTypeEnumName(r.dtype)) + " is not storable");
  }
  uint64_t expected = static_cast<uint64_t>(shape.num_elements()) * ckpt::DataTypeSize(r.dtype);
  if (expected != r.nbytes) {
    return Error("tensor \"" + r.name + "\" has " + std::to_string(r.nbytes) +
                 " bytes; its shape needs " + std::to_string(expected));
  }
  return Tensor::View(r.dtype, std::move(shape), p);
}

Status AddRecord(ckpt::BundleWriter* writer, const Record& r, const std::string& blob) {
  CKPT_ASSIGN_OR_RETURN(Tensor t, MakeTensor(r, blob));
  if (r.has_spec) {
    TensorShape full_shape;
    ckpt::TensorSlice slice;
    bool has_slice = false;
    CKPT_RETURN_IF_ERROR(ckpt::ParseShapeAndSlice(r.spec, &full_shape, &slice, &has_slice));
    if (has_slice) return writer->AddSlice(r.name, full_shape, slice, t);
  }
  return writer->Add(r.name, t);
}

std::string ShardPrefix(const std::string& prefix, int shard, int num_shards) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "-%05d-of-%05d", shard, num_shards);
  return prefix + "_temp/part" + buf;
}

Status Write(const std::string& prefix, const std::string& manifest_path, int alignment) {
  CKPT_ASSIGN_OR_RETURN(Manifest m, ReadManifest(manifest_path));
  std::string blob;
  if (!m.data_file.empty()) {
    CKPT_ASSIGN_OR_RETURN(blob, ReadFile(m.data_file));
  }
  ckpt::BundleWriterOptions options;
  options.data_alignment = alignment;
  if (m.shards == 0) {
    CKPT_ASSIGN_OR_RETURN(auto writer, ckpt::BundleWriter::Create(prefix, options));
    for (const Record& r : m.records) CKPT_RETURN_IF_ERROR(AddRecord(writer.get(), r, blob));
    return writer->Finish();
  }
  std::vector<std::string> shard_prefixes;
  for (int s = 0; s < m.shards; ++s) {
    shard_prefixes.push_back(ShardPrefix(prefix, s, m.shards));
    CKPT_ASSIGN_OR_RETURN(auto writer, ckpt::BundleWriter::Create(shard_prefixes.back(), options));
    for (const Record& r : m.records) {
      if (r.shard == s) CKPT_RETURN_IF_ERROR(AddRecord(writer.get(), r, blob));
    }
    CKPT_RETURN_IF_ERROR(writer->Finish());
  }
  return ckpt::MergeBundles(ckpt::Env::Posix(), shard_prefixes, prefix, true);
}

int Usage() {
  std::cerr << "usage: ckpt_interop_tool dump <checkpoint path> <outdir>\n"
               "       ckpt_interop_tool write [--alignment=N] <prefix> <manifest>\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Usage();
  Status status;
  if (args[0] == "dump" && args.size() == 3) {
    status = Dump(args[1], args[2]);
  } else if (args[0] == "write") {
    int alignment = 1;
    std::vector<std::string> positional;
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string kAlign = "--alignment=";
      if (args[i].compare(0, kAlign.size(), kAlign) == 0) {
        auto v = ParseInt(args[i].substr(kAlign.size()));
        if (!v.ok() || *v < 1) return Usage();
        alignment = static_cast<int>(*v);
      } else {
        positional.push_back(args[i]);
      }
    }
    if (positional.size() != 2) return Usage();
    status = Write(positional[0], positional[1], alignment);
  } else {
    return Usage();
  }
  if (!status.ok()) {
    std::cerr << "ckpt_interop_tool " << args[0] << ": " << status.ToString() << "\n";
    return 1;
  }
  return 0;
}
