// Distributed saves and restores (ckpt/distributed.h). A save, in collective
// steps (docs/distributed.md has the protocol and what a crash leaves):
//   1. Plan: every rank's status, prefix and tensor list (names, slices,
//      dtypes, shapes, sizes: no data) go to every rank (AllGather); every
//      rank checks them the same way and computes the same owners.
//   2. Rank 0 removes an existing P.index (a re-save), and says go (Broadcast).
//   3. Every rank writes the tensors it owns into its own data shard and
//      renames it into place (BundleWriter::FinishShard).
//   4. The index entries go to rank 0 (Gather), which writes P.index
//      (WriteBundleIndex: the commit point), and the outcome goes to every
//      rank (Broadcast). On failure every rank deletes its data shard.
// A restore: rank 0 reads the checkpoint's index and broadcasts it
// (dist/index_broadcast.h); every rank restores its own variables through
// its Saver, reading the index from memory, and the ranks agree before any
// variable changes.
#include "ckpt/distributed.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "ckpt/bundle_writer.h"
#include "ckpt/filenames.h"
#include "dist/index_broadcast.h"
#include "dist/wire.h"

namespace ckpt {
namespace {

// One tensor of one rank's plan.
struct Item {
  std::string name;
  std::string slice;  // TensorSlice::DebugString(); "" for a whole tensor
  std::string dtype;  // DataType as a decimal number
  std::string shape;  // the (full) shape's DebugString()
  int64_t bytes = 0;
  int rank = 0;
  size_t index = 0;  // in that rank's VarList
};

// A field of decimal digits (an optional leading '-') as a number; false if
// it is not one or is out of [lo, hi].
bool ParseInt(const std::string& text, int64_t lo, int64_t hi, int64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  const size_t start = text[0] == '-' ? 1 : 0;
  if (start == text.size() || text.find_first_not_of("0123456789", start) != std::string::npos) {
    return false;
  }
  *out = std::strtoll(text.c_str(), nullptr, 10);
  return *out >= lo && *out <= hi;
}

int64_t ByteCount(const Tensor& t) {
  if (t.dtype() != DataType::kString) return static_cast<int64_t>(t.byte_size());
  int64_t n = 0;
  for (const std::string& s : t.strings()) n += static_cast<int64_t>(s.size()) + 1;
  return n;
}

// Step 1's message: status, prefix, then five fields per tensor.
std::string EncodePlan(const Status& status, const std::string& prefix, const VarList& vars) {
  std::vector<std::string> f{dist::EncodeStatus(status), prefix};
  if (status.ok()) {
    for (const SaveableTensor& v : vars) {
      f.push_back(v.name);
      f.push_back(v.full_shape ? v.slice.DebugString() : "");
      f.push_back(std::to_string(static_cast<int>(v.tensor->dtype())));
      f.push_back((v.full_shape ? *v.full_shape : v.tensor->shape()).DebugString());
      f.push_back(std::to_string(ByteCount(*v.tensor)));
    }
  }
  return dist::EncodeFields(f);
}

// The outcome every rank returns when rank `failed` reported `error`.
Status Failure(int me, int failed, int size, const Status& error, const std::string& what) {
  if (failed == me) return error;
  return AbortedError(what + " abandoned on every rank: rank " + std::to_string(failed) + " of " +
                      std::to_string(size) + " failed: " + error.ToString());
}

// The first failing rank's status among encoded statuses (-1: none).
std::pair<int, Status> FirstFailure(const std::vector<std::string>& statuses) {
  for (size_t r = 0; r < statuses.size(); ++r) {
    Status s = dist::DecodeStatus(statuses[r]);
    if (!s.ok()) return {static_cast<int>(r), s};
  }
  return {-1, Status::OK()};
}

// Step 1 at every rank: the checks and this rank's owned tensors (indexes
// into its vars, in name order).
Result<std::vector<size_t>> Plan(const Communicator& comm, const std::string& prefix,
                                 const std::vector<std::string>& plans) {
  std::vector<Item> items;
  for (int r = 0; r < comm.size(); ++r) {
    std::vector<std::string> f;
    if (!dist::DecodeFields(plans[r], &f) || f.size() < 2 || (f.size() - 2) % 5 != 0) {
      return InternalError("Distributed save: the plan of rank " + std::to_string(r) +
                           " is malformed");
    }
    if (f[1] != prefix) {
      return InvalidArgumentError("Distributed save: ranks save to different prefixes: rank " +
                                  std::to_string(comm.rank()) + " to \"" + prefix + "\", rank " +
                                  std::to_string(r) + " to \"" + f[1] + "\"");
    }
    for (size_t i = 2; i < f.size(); i += 5) {
      int64_t dtype = 0, bytes = 0;
      if (!ParseInt(f[i + 2], 0, 1000, &dtype) ||
          !ParseInt(f[i + 4], 0, std::numeric_limits<int64_t>::max(), &bytes)) {
        return InternalError("Distributed save: the plan of rank " + std::to_string(r) +
                             " is malformed");
      }
      Item it;
      it.name = f[i];
      it.slice = f[i + 1];
      it.dtype = f[i + 2];
      it.shape = f[i + 3];
      it.bytes = bytes;
      it.rank = r;
      it.index = (i - 2) / 5;
      items.push_back(std::move(it));
    }
  }
  // Sorted by name, then slice, then rank: holders of one tensor are adjacent.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.name, a.slice, a.rank) < std::tie(b.name, b.slice, b.rank);
  });
  std::vector<int64_t> load(static_cast<size_t>(comm.size()), 0);
  std::vector<size_t> mine;
  for (size_t i = 0; i < items.size();) {
    size_t end = i;
    const Item& first = items[i];
    while (end < items.size() && items[end].name == first.name) {
      const Item& it = items[end];
      if (it.dtype != first.dtype || it.shape != first.shape ||
          it.slice.empty() != first.slice.empty()) {
        auto describe = [](const Item& x) {
          return "rank " + std::to_string(x.rank) + " has it as " +
                 (x.slice.empty() ? "a whole tensor" : "slice " + x.slice) + " of shape " +
                 x.shape + " and dtype " +
                 std::string(DataTypeName(static_cast<DataType>(std::atoi(x.dtype.c_str()))));
        };
        return InvalidArgumentError("Distributed save: ranks disagree on variable \"" +
                                    first.name + "\": " + describe(first) + ", " + describe(it));
      }
      ++end;
    }
    // One owner per distinct slice (or the whole tensor) among its holders.
    for (size_t j = i; j < end;) {
      size_t k = j;
      int owner = items[j].rank;
      while (k < end && items[k].slice == items[j].slice) {
        if (load[items[k].rank] < load[owner]) owner = items[k].rank;
        ++k;
      }
      for (size_t h = j; h < k; ++h) {
        if (items[h].rank != owner) continue;
        load[owner] += items[h].bytes;
        if (owner == comm.rank()) mine.push_back(items[h].index);
      }
      j = k;
    }
    i = end;
  }
  return mine;
}

// Step 3: this rank's shard; returns its index entries.
Result<std::string> WriteShard(const Communicator& comm, const std::string& prefix,
                               const VarList& vars, const std::vector<size_t>& owned,
                               const DistributedSaveOptions& options) {
  BundleWriterOptions wo;
  wo.env = options.env;
  wo.sync = options.sync;
  wo.direct_io = options.direct_io;
  wo.shard = comm.rank();
  wo.num_shards = comm.size();
  CKPT_ASSIGN_OR_RETURN(auto writer, BundleWriter::Create(prefix, wo));
  for (size_t i : owned) {
    const SaveableTensor& v = vars[i];
    if (v.full_shape) {
      CKPT_RETURN_IF_ERROR(writer->AddSlice(v.name, *v.full_shape, v.slice, *v.tensor));
    } else {
      CKPT_RETURN_IF_ERROR(writer->Add(v.name, *v.tensor));
    }
  }
  return writer->FinishShard();
}

// The vars checks of Saver::Create (a Saver validates them; nothing else of
// it is used here).
Status CheckVars(const VarList& vars, const DistributedSaveOptions& options) {
  if (options.env == nullptr) return InvalidArgumentError("DistributedSaveOptions.env is null");
  if (vars.empty()) return Status::OK();  // a rank may hold nothing
  SaverOptions so;
  so.env = options.env;
  return Saver::Create(vars, so).status();
}

// DistributedSave with this rank's status so far: an error makes every rank
// return it from step 1, before anything is written.
Status SaveCollective(Communicator& comm, const std::string& prefix, const VarList& vars,
                      const DistributedSaveOptions& options, Status local) {
  const int me = comm.rank(), size = comm.size();
  const std::string what = "Distributed save of " + prefix;
  if (local.ok()) local = CheckVars(vars, options);
  // 1. Plan.
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> plans,
                        comm.AllGather(EncodePlan(local, prefix, vars)));
  std::vector<std::string> statuses;
  for (const std::string& p : plans) {
    std::vector<std::string> f;
    statuses.push_back(dist::DecodeFields(p, &f) && !f.empty()
                           ? f[0]
                           : dist::EncodeStatus(InternalError("malformed plan")));
  }
  if (!local.ok()) return local;  // every failing rank returns its own error
  if (auto [failed, error] = FirstFailure(statuses); failed >= 0) {
    return Failure(me, failed, size, error, what);
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<size_t> owned, Plan(comm, prefix, plans));
  // 2. Unpublish an index of an earlier save to this prefix.
  Status removed;
  if (me == 0 && options.env->FileExists(MetaFilename(prefix))) {
    removed = options.env->DeleteFile(MetaFilename(prefix));
  }
  CKPT_ASSIGN_OR_RETURN(std::string go, comm.Broadcast(dist::EncodeStatus(removed), 0));
  if (Status s = dist::DecodeStatus(go); !s.ok()) return Failure(me, 0, size, s, what);
  // 3. Write.
  Result<std::string> entries = WriteShard(comm, prefix, vars, owned, options);
  // 4. Index at rank 0, then the outcome everywhere.
  CKPT_ASSIGN_OR_RETURN(
      std::vector<std::string> gathered,
      comm.Gather(dist::EncodeFields({dist::EncodeStatus(entries.status()),
                                      entries.ok() ? *entries : std::string()}),
                  0));
  std::string outcome;
  if (me == 0) {
    std::vector<std::string> statuses_at_root, all_entries;
    for (const std::string& g : gathered) {
      std::vector<std::string> f;
      const bool ok = dist::DecodeFields(g, &f) && f.size() == 2;
      statuses_at_root.push_back(ok ? f[0] : dist::EncodeStatus(InternalError("malformed entries")));
      all_entries.push_back(ok ? f[1] : std::string());
    }
    auto [failed, error] = FirstFailure(statuses_at_root);
    if (failed < 0) {
      error = WriteBundleIndex(options.env, prefix, size, all_entries, options.sync);
      if (!error.ok()) failed = 0;
    }
    outcome = dist::EncodeFields({std::to_string(failed), dist::EncodeStatus(error)});
  }
  Result<std::string> told = comm.Broadcast(outcome, 0);
  Status result;
  std::vector<std::string> f;
  int64_t failed = 0;
  if (!told.ok()) {
    result = told.status();
  } else if (!dist::DecodeFields(*told, &f) || f.size() != 2 ||
             !ParseInt(f[0], -1, size - 1, &failed)) {
    result = InternalError(what + ": malformed outcome from rank 0");
  } else if (Status s = dist::DecodeStatus(f[1]); !s.ok()) {
    result = !entries.ok() ? entries.status()
                           : Failure(me, static_cast<int>(std::max<int64_t>(failed, 0)), size, s,
                                     what);
  }
  if (!result.ok() && entries.ok() && told.ok()) {
    // The save failed and rank 0 said so: this rank's published shard (a
    // data file without an index is no checkpoint) is removed too. Not when
    // the outcome is unknown (rank 0 may have committed the index before it
    // stalled or died): then the shard stays, as part of a checkpoint or as
    // a leftover the next save removes.
    options.env->DeleteFile(DataFilename(prefix, me, size)).IgnoreError();
  }
  return result;
}

}  // namespace

Status DistributedSave(Communicator& comm, const std::string& prefix, const VarList& vars,
                       const DistributedSaveOptions& options) {
  return SaveCollective(comm, prefix, vars, options, Status::OK());
}

struct DistributedSaver::Impl {
  Communicator* comm = nullptr;
  // The Saver's Env: the user's, serving the index rank 0 broadcast during
  // a restore. Declared first: it outlives the Saver.
  std::unique_ptr<dist::IndexServingEnv> env;
  std::unique_ptr<Saver> saver;  // every rank restores through it; the chief saves
  VarList vars;
  SaverOptions options;  // with the user's Env
  bool entered = false;  // the chief's Save reached the collective write
};

DistributedSaver::DistributedSaver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DistributedSaver::~DistributedSaver() = default;

Result<std::unique_ptr<DistributedSaver>> DistributedSaver::Create(Communicator* comm,
                                                                   VarList var_list,
                                                                   SaverOptions options) {
  return Create(comm, std::move(var_list), std::move(options), Status::OK());
}

Result<std::unique_ptr<DistributedSaver>> DistributedSaver::Create(Communicator* comm,
                                                                   VarList var_list,
                                                                   SaverOptions options,
                                                                   Status local) {
  if (comm == nullptr) return InvalidArgumentError("DistributedSaver: null communicator");
  auto impl = std::make_unique<Impl>();
  impl->comm = comm;
  impl->vars = var_list;
  Impl* raw = impl.get();
  if (comm->rank() == 0) {
    options.bundle_writer = [raw](const std::string& prefix, const VarList& vars) {
      raw->entered = true;
      DistributedSaveOptions so;
      so.env = raw->options.env;
      so.direct_io = raw->options.direct_io;
      return SaveCollective(*raw->comm, prefix, vars, so, Status::OK());
    };
  }
  impl->options = options;
  SaverOptions saver_options = options;
  if (options.env != nullptr) {  // else Saver::Create says it is null
    impl->env = std::make_unique<dist::IndexServingEnv>(options.env);
    saver_options.env = impl->env.get();
  }
  // A rank may hold no variable; Saver wants at least one, so it gets none.
  if (!local.ok()) {
    // Already failed: only the agreement below.
  } else if (!var_list.empty()) {
    Result<std::unique_ptr<Saver>> saver = Saver::Create(std::move(var_list), saver_options);
    if (saver.ok()) {
      impl->saver = std::move(*saver);
    } else {
      local = saver.status();
    }
  } else if (comm->rank() == 0) {
    local = InvalidArgumentError("DistributedSaver: the chief (rank 0) has no variables; it "
                                 "needs at least one (it keeps the checkpoint's bookkeeping)");
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> all, comm->AllGather(dist::EncodeStatus(local)));
  if (!local.ok()) return local;
  if (auto [failed, error] = FirstFailure(all); failed >= 0) {
    return Failure(comm->rank(), failed, comm->size(), error, "Creating a DistributedSaver");
  }
  return std::unique_ptr<DistributedSaver>(new DistributedSaver(std::move(impl)));
}

Result<std::string> DistributedSaver::Save(const std::string& save_path, const SaveArgs& args) {
  return Save(save_path, args, Status::OK());
}

Result<std::string> DistributedSaver::Save(const std::string& save_path, const SaveArgs& args,
                                           Status local) {
  Impl& im = *impl_;
  Communicator& comm = *im.comm;
  DistributedSaveOptions so;
  so.env = im.options.env;
  so.direct_io = im.options.direct_io;
  Result<std::string> result = std::string();
  if (comm.rank() == 0) {
    im.entered = false;
    result = local.ok() ? im.saver->Save(save_path, args) : Result<std::string>(local);
    if (!im.entered) {
      // Failed before the collective write: the other ranks wait in it.
      Result<std::string> prefix = CheckpointPrefixForSave(save_path, args, im.options);
      SaveCollective(comm, prefix.ok() ? *prefix : save_path, {}, so, result.status())
          .IgnoreError();
    }
  } else {
    result = CheckpointPrefixForSave(save_path, args, im.options);
    if (!local.ok()) result = local;
    const std::string prefix = result.ok() ? *result : save_path;
    Status s = SaveCollective(comm, prefix, im.vars, so, result.status());
    if (!s.ok()) result = s;
  }
  // The chief's outcome includes its .meta and state file, written after the
  // collective write: every rank returns it.
  Result<std::string> told =
      comm.Broadcast(dist::EncodeStatus(result.ok() ? Status::OK() : result.status()), 0);
  if (!told.ok()) {
    // This rank's own error (e.g. DeadlineExceeded naming the ranks it waited
    // for) usually broke the communicator: it is the outcome, not the Aborted
    // of the broken communicator.
    if (!result.ok()) return result;
    return told.status();
  }
  if (Status chief = dist::DecodeStatus(*told); !chief.ok() && result.ok()) {
    return Failure(comm.rank(), 0, comm.size(), chief, "Distributed save to " + save_path);
  }
  return result;
}

Status DistributedSaver::Restore(const std::string& save_path, const RestoreOptions& options) {
  Impl& im = *impl_;
  Communicator& comm = *im.comm;
  RestoreOptions agreed = options;
  agreed.agree = [&](const Status& ready) -> Status {
    const Status mine = options.agree ? options.agree(ready) : ready;
    CKPT_ASSIGN_OR_RETURN(std::vector<std::string> all,
                          comm.AllGather(dist::EncodeStatus(mine)));
    if (!mine.ok()) return mine;  // every failing rank returns its own error
    auto [failed, error] = FirstFailure(all);
    if (failed < 0) return Status::OK();
    return Failure(comm.rank(), failed, comm.size(), error, "Restoring " + save_path);
  };
  // The index, read once by rank 0 for every rank. Rank 0 always has a
  // Saver, hence an Env; the others' is not used here.
  CKPT_ASSIGN_OR_RETURN(std::optional<dist::ServedFile> index,
                        dist::BroadcastIndex(comm, im.options.env, save_path));
  if (im.saver == nullptr) {
    // No variables here: take part in the agreement only.
    return agreed.agree(Status::OK());
  }
  dist::ScopedServe serve(im.env.get(), std::move(index));
  return im.saver->Restore(save_path, agreed);
}

std::vector<std::string> DistributedSaver::last_checkpoints() const {
  return impl_->comm->rank() == 0 ? impl_->saver->last_checkpoints()
                                  : std::vector<std::string>();
}

}  // namespace ckpt
