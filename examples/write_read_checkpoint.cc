// Writes a small TensorFlow checkpoint and reads it back.
//
//   write_read_checkpoint <prefix>      e.g. models/example/model.ckpt
//
// The files it writes (<prefix>.index, <prefix>.data-00000-of-00001 and a
// `checkpoint` state file beside them) load in TensorFlow with
// tf.train.load_checkpoint("<dir>").
#include <ckpt/bundle.h>
#include <ckpt/checkpoint_reader.h>
#include <ckpt/env.h>

#include <csignal>
#include <iostream>
#include <vector>

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f), report the write's "File too large"
  // error instead of being killed by SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  if (argc != 2) {
    std::cerr << "usage: write_read_checkpoint <prefix>\n";
    return 2;
  }
  const std::string prefix = argv[1];

  // Save: a 2x3 kernel (saved from our buffer without a copy), a bias and a step.
  std::vector<float> kernel = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
  auto writer = ckpt::BundleWriter::Create(prefix);
  if (!writer.ok()) return (std::cerr << writer.status() << "\n", 1);
  ckpt::BundleWriter& w = **writer;
  ckpt::Status s = w.Add("dense/kernel", ckpt::Tensor::View(ckpt::DataType::kFloat, {2, 3}, kernel.data()));
  if (s.ok()) s = w.Add("dense/bias", ckpt::Tensor::FromVector<float>({3}, {0.f, 0.f, 1.f}));
  if (s.ok()) s = w.Add("global_step", ckpt::Tensor::Scalar<int64_t>(1000));
  if (s.ok()) s = w.Finish();
  if (!s.ok()) return (std::cerr << s << "\n", 1);

  // Record it as the directory's newest checkpoint, as TensorFlow's Saver does.
  std::string dir(ckpt::Dirname(prefix));
  std::string base(ckpt::Basename(prefix));
  s = ckpt::WriteStringToFileAtomic(ckpt::Env::Posix(), ckpt::JoinPath(dir, "checkpoint"),
                                    "model_checkpoint_path: \"" + base + "\"\n"
                                    "all_model_checkpoint_paths: \"" + base + "\"\n");
  if (!s.ok()) return (std::cerr << s << "\n", 1);

  // Restore: open the directory (finds the newest checkpoint) and read a tensor.
  auto reader = ckpt::CheckpointReader::Open(dir.empty() ? "." : dir);
  if (!reader.ok()) return (std::cerr << reader.status() << "\n", 1);
  std::cout << "Wrote and reopened " << (*reader)->prefix() << ":\n" << (*reader)->DebugString();
  auto step = (*reader)->GetTensor("global_step");
  if (!step.ok()) return (std::cerr << step.status() << "\n", 1);
  std::cout << "global_step = " << step->flat<int64_t>()[0] << "\n";
  return 0;
}
