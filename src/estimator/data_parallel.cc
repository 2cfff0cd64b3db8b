// Data-parallel training (estimator/data_parallel.h).
#include "estimator/data_parallel.h"

#include <cstring>

#include "ckpt/logging.h"
#include "dist/wire.h"

namespace ckpt::estimator_internal {
namespace {

// Rows [first, last) (dim 0) of `t`; `t` itself if it has no rows.
Tensor Rows(const Tensor& t, int64_t first, int64_t last) {
  if (t.shape().rank() == 0) return t;
  std::vector<int64_t> dims = t.shape().dims();
  const int64_t rows = dims[0];
  dims[0] = last - first;
  if (t.dtype() == DataType::kString) {
    std::vector<std::string> v;
    const int64_t per = rows == 0 ? 0 : t.num_elements() / rows;
    for (int64_t i = first * per; i < last * per; ++i) v.push_back(t.strings()[i]);
    return Tensor::FromStrings(TensorShape(dims), std::move(v)).value();
  }
  Tensor out = Tensor::AllocateUninitialized(t.dtype(), TensorShape(dims)).value();
  const size_t row_bytes = rows == 0 ? 0 : t.byte_size() / static_cast<size_t>(rows);
  if (out.byte_size() > 0) {
    std::memcpy(out.mutable_data(), t.data() + first * row_bytes, out.byte_size());
  }
  return out;
}

class RankShare : public Iterator<Batch> {
 public:
  RankShare(std::unique_ptr<Iterator<Batch>> input, int rank, int size)
      : input_(std::move(input)), rank_(rank), size_(size) {}

  std::optional<Batch> Next() override {
    std::optional<Batch> batch = input_->Next();
    if (!batch) return batch;
    const int64_t rows = batch->size();
    if (rows < size_) {
      // Every rank sees the same batch, so every rank stops here.
      if (rank_ == 0) {
        LogWarning("Data-parallel training: a batch of " + std::to_string(rows) +
                   " rows cannot be shared by " + std::to_string(size_) +
                   " ranks; it ends the input");
      }
      return std::nullopt;
    }
    const int64_t first = rows * rank_ / size_, last = rows * (rank_ + 1) / size_;
    Batch share;
    for (auto& [name, t] : batch->features) share.features[name] = Rows(t, first, last);
    if (batch->labels) share.labels = Rows(*batch->labels, first, last);
    return share;
  }

 private:
  std::unique_ptr<Iterator<Batch>> input_;
  const int rank_, size_;
};

// The partitioned mode's messages from the chief (data_parallel.h).
constexpr char kSave[] = "save";
constexpr char kGo[] = "go";

class LeaderHook : public SessionRunHook {
 public:
  explicit LeaderHook(Communicator* comm) : comm_(comm) {}
  Status AfterCreateSession(TrainingSession&) override { return Go(); }
  Status AfterRun(TrainingSession&, const StepValues&) override { return Go(); }
  Status End(TrainingSession&) override { return Go(); }

 private:
  Status Go() { return comm_->Broadcast(dist::EncodeFields({kGo}), 0).status(); }
  Communicator* comm_;
};

class FollowerHook : public SessionRunHook {
 public:
  FollowerHook(Communicator* comm, PartitionedVariables* vars, DistributedSaveOptions options)
      : comm_(comm), vars_(vars), options_(options) {}
  Status AfterCreateSession(TrainingSession&) override { return Follow(); }
  Status AfterRun(TrainingSession&, const StepValues&) override { return Follow(); }
  Status End(TrainingSession&) override { return Follow(); }

 private:
  // Joins the chief's saves until it says go.
  Status Follow() {
    for (;;) {
      CKPT_ASSIGN_OR_RETURN(std::string message, comm_->Broadcast("", 0));
      std::vector<std::string> f;
      if (dist::DecodeFields(message, &f) && f.size() == 1 && f[0] == kGo) return Status::OK();
      if (!dist::DecodeFields(message, &f) || f.size() != 2 || f[0] != kSave) {
        return InternalError("Data-parallel training: rank " + std::to_string(comm_->rank()) +
                             " got a malformed message from the chief");
      }
      vars_->CopyBlocksOut();
      CKPT_RETURN_IF_ERROR(DistributedSave(*comm_, f[1], vars_->checkpoint_vars(), options_));
    }
  }

  Communicator* comm_;
  PartitionedVariables* vars_;
  DistributedSaveOptions options_;
};

}  // namespace

std::unique_ptr<Iterator<Batch>> ShareOfEveryBatch(std::unique_ptr<Iterator<Batch>> input,
                                                   int rank, int size) {
  return std::make_unique<RankShare>(std::move(input), rank, size);
}

namespace {

// Replaces every value by its sum over the ranks of `comm` divided by
// `divisor`, summed in rank order in double: the same on every rank.
Status CombineOverRanks(Communicator& comm, std::vector<std::pair<std::string, Tensor>>* grads,
                        double divisor) {
  std::string mine;
  for (const auto& [name, g] : *grads) {
    if (g.dtype() != DataType::kFloat && g.dtype() != DataType::kDouble) {
      return InvalidArgumentError("Data-parallel training: gradient of \"" + name + "\" has dtype " +
                                  std::string(DataTypeName(g.dtype())) + " (float or double only)");
    }
    mine.append(g.data(), g.byte_size());
  }
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> all, comm.AllGather(mine));
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].size() != mine.size()) {
      return InvalidArgumentError("Data-parallel training: rank " + std::to_string(r) + " sent " +
                                  std::to_string(all[r].size()) + " bytes of gradients, rank " +
                                  std::to_string(comm.rank()) + " has " +
                                  std::to_string(mine.size()) + " (do all ranks run the same model?)");
    }
  }
  size_t at = 0;
  for (auto& [name, g] : *grads) {
    const int64_t n = g.num_elements();
    const bool is_float = g.dtype() == DataType::kFloat;
    const size_t size = is_float ? sizeof(float) : sizeof(double);
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (const std::string& part : all) {
        if (is_float) {
          float v;
          std::memcpy(&v, part.data() + at + static_cast<size_t>(i) * size, size);
          sum += v;
        } else {
          double v;
          std::memcpy(&v, part.data() + at + static_cast<size_t>(i) * size, size);
          sum += v;
        }
      }
      if (is_float) {
        g.mutable_flat<float>()[i] = static_cast<float>(sum / divisor);
      } else {
        g.mutable_flat<double>()[i] = sum / divisor;
      }
    }
    at += static_cast<size_t>(n) * size;
  }
  return Status::OK();
}

}  // namespace

Status SumOverRanks(Communicator& comm, std::vector<std::pair<std::string, Tensor>>* grads) {
  return CombineOverRanks(comm, grads, 1.0);
}

Status MeanOverRanks(Communicator& comm, std::vector<std::pair<std::string, Tensor>>* values) {
  return CombineOverRanks(comm, values, static_cast<double>(comm.size()));
}


Result<std::unique_ptr<PartitionedVariables>> PartitionedVariables::Create(
    const VarList& vars, int rank, int size, std::optional<int64_t> min_bytes) {
  std::unique_ptr<PartitionedVariables> out(new PartitionedVariables(rank, size));
  out->parts_.reserve(vars.size());
  for (const SaveableTensor& v : vars) {
    const Tensor& t = *v.tensor;
    // A whole variable, or one saved as a partitioned variable of one part
    // (as the canned estimators save theirs).
    const bool whole = !v.full_shape || v.slice.CoversAll(*v.full_shape);
    const bool split = min_bytes.has_value() && size > 1 && whole &&
                       t.dtype() != DataType::kString && t.shape().rank() >= 1 &&
                       t.shape().dim(0) >= size &&
                       static_cast<int64_t>(t.byte_size()) >= *min_bytes;
    if (!split) {
      out->checkpoint_vars_.push_back(v);
      continue;
    }
    Part p;
    p.whole = v.tensor;
    p.rows = t.shape().dim(0);
    p.row_bytes = t.byte_size() / static_cast<size_t>(p.rows);
    const auto [first, count] = out->Block(p.rows, rank);
    std::vector<int64_t> dims = t.shape().dims();
    dims[0] = count;
    CKPT_ASSIGN_OR_RETURN(p.block, Tensor::Allocate(t.dtype(), TensorShape(dims)));
    out->parts_.push_back(std::move(p));
    std::vector<TensorSlice::Extent> extents(static_cast<size_t>(t.shape().rank()));
    extents[0] = {first, count};
    SaveableTensor s = v;
    s.tensor = &out->parts_.back().block;
    s.full_shape = t.shape();
    s.slice = TensorSlice(std::move(extents));
    out->checkpoint_vars_.push_back(std::move(s));
  }
  return out;
}

std::pair<int64_t, int64_t> PartitionedVariables::Block(int64_t rows, int rank) const {
  const int64_t base = rows / size_, extra = rows % size_;
  return {rank * base + std::min<int64_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

void PartitionedVariables::CopyBlocksOut() {
  for (Part& p : parts_) {
    const int64_t first = Block(p.rows, rank_).first;
    if (p.block.byte_size() == 0) continue;
    std::memcpy(p.block.mutable_data(), p.whole->data() + first * p.row_bytes,
                p.block.byte_size());
  }
}

Status PartitionedVariables::AssembleAfterRestore(Communicator& comm) {
  if (parts_.empty()) return Status::OK();
  std::string mine;
  for (const Part& p : parts_) mine.append(p.block.data(), p.block.byte_size());
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> all, comm.AllGather(mine));
  for (int r = 0; r < size_; ++r) {
    size_t expected = 0;
    for (const Part& p : parts_) expected += Block(p.rows, r).second * p.row_bytes;
    if (all[r].size() != expected) {
      return InternalError("Partitioned variables: rank " + std::to_string(r) + " sent " +
                           std::to_string(all[r].size()) + " bytes of its blocks, expected " +
                           std::to_string(expected) + " (do all ranks run the same model?)");
    }
    size_t at = 0;
    for (Part& p : parts_) {
      const auto [first, count] = Block(p.rows, r);
      const size_t bytes = static_cast<size_t>(count) * p.row_bytes;
      if (bytes > 0) std::memcpy(p.whole->mutable_data() + first * p.row_bytes, all[r].data() + at, bytes);
      at += bytes;
    }
  }
  return Status::OK();
}

Status RestoreOnEveryRank(Communicator& comm, PartitionedVariables& vars, Env* env,
                          const std::string& checkpoint) {
  SaverOptions so;
  so.env = env;
  CKPT_ASSIGN_OR_RETURN(std::unique_ptr<DistributedSaver> saver,
                        DistributedSaver::Create(&comm, vars.checkpoint_vars(), so));
  const Status restored = saver->Restore(checkpoint);
  CKPT_ASSIGN_OR_RETURN(std::vector<std::string> all,
                        comm.AllGather(dist::EncodeStatus(restored)));
  for (size_t r = 0; r < all.size(); ++r) {
    Status s = dist::DecodeStatus(all[r]);
    if (s.code() != StatusCode::kDataLoss) continue;
    if (static_cast<int>(r) == comm.rank()) return s;
    return DataLossError("rank " + std::to_string(r) + " of " + std::to_string(comm.size()) +
                         " cannot restore: " + s.message());
  }
  CKPT_RETURN_IF_ERROR(restored);
  return vars.AssembleAfterRestore(comm);
}

std::function<Status(const std::string&, const VarList&)> LeaderBundleWriter(
    Communicator* comm, PartitionedVariables* vars, DistributedSaveOptions options) {
  return [comm, vars, options](const std::string& prefix, const VarList& saved) -> Status {
    CKPT_RETURN_IF_ERROR(comm->Broadcast(dist::EncodeFields({kSave, prefix}), 0).status());
    vars->CopyBlocksOut();
    return DistributedSave(*comm, prefix, saved, options);
  };
}

std::shared_ptr<SessionRunHook> MakeLeaderHook(Communicator* comm) {
  return std::make_shared<LeaderHook>(comm);
}

std::shared_ptr<SessionRunHook> MakeFollowerHook(Communicator* comm, PartitionedVariables* vars,
                                                 DistributedSaveOptions options) {
  return std::make_shared<FollowerHook>(comm, vars, options);
}

}  // namespace ckpt::estimator_internal
