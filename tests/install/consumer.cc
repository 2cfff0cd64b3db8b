// Writes a checkpoint and reads it back through the installed ckpt package.
#include <ckpt/bundle.h>
#include <ckpt/checkpoint_reader.h>
#include <ckpt/keras_weights.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string prefix = std::string(argv[1]) + "/model.ckpt-1";
  auto writer = ckpt::BundleWriter::Create(prefix);
  if (!writer.ok()) return (std::cerr << writer.status() << "\n", 1);
  std::vector<float> w = {1.5f, -2.0f, 3.25f};
  ckpt::Status s = (*writer)->Add("w", ckpt::Tensor::View(ckpt::DataType::kFloat, {3}, w.data()));
  if (s.ok()) s = (*writer)->Finish();
  if (!s.ok()) return (std::cerr << s << "\n", 1);

  auto reader = ckpt::CheckpointReader::Open(prefix);
  if (!reader.ok()) return (std::cerr << reader.status() << "\n", 1);
  auto t = (*reader)->GetTensor("w");
  if (!t.ok() || t->num_elements() != 3 || t->flat<float>()[2] != 3.25f) {
    std::cerr << "consumer: read back wrong value\n";
    return 1;
  }
  // The keras module links libhdf5 privately; a weights file round trip
  // shows the installed package carries that link.
  ckpt::KerasWeights weights;
  weights.groups.push_back({"layers/dense", "dense", {*t}});
  const std::string h5 = std::string(argv[1]) + "/model.weights.h5";
  s = ckpt::WriteKerasWeights(weights, h5);
  auto back = ckpt::ReadKerasWeights(h5);
  if (!s.ok() || !back.ok() || back->groups.size() != 1 || !back->groups[0].vars[0].Equals(*t)) {
    std::cerr << "consumer: Keras weights round trip failed: " << (s.ok() ? back.status() : s) << "\n";
    return 1;
  }
  std::cout << "consumer: find_package(ckpt) works; read back " << (*reader)->DebugString();
  return 0;
}
