// SignatureDefs of export outputs (ckpt/saved_model.h): TF's export_output
// and signature_def_utils rules, with their error texts.
#include <string>

#include "ckpt/saved_model.h"

namespace ckpt {
namespace {

// "{'a': <tensor a:0 float32>, ...}": what TF's messages print as
// "Received: {receiver_tensors}".
std::string Describe(const std::map<std::string, Output>& tensors) {
  std::string s = "{";
  for (const auto& [key, t] : tensors) {
    if (s.size() > 1) s += ", ";
    s += "'" + key + "': " + t.tensor_name() + " (" + std::string(DataTypeName(t.dtype)) + ")";
  }
  return s + "}";
}

// Classification and regression take serialized tf.Example protos only.
Result<Output> SingleStringInput(const char* kind,
                                 const std::map<std::string, Output>& receiver_tensors) {
  if (receiver_tensors.size() != 1 ||
      receiver_tensors.begin()->second.dtype != DataType::kString) {
    return InvalidArgumentError(
        std::string(kind) +
        " signatures can only accept a single tensor input of type tf.string. Please check to "
        "make sure that you have structured the serving_input_receiver_fn so that it creates a "
        "single string placeholder. If your model function expects multiple inputs, then use "
        "`tf.io.parse_example()` to parse the string into multiple tensors.\n Received: " +
        Describe(receiver_tensors));
  }
  return receiver_tensors.begin()->second;
}

void Put(google::protobuf::Map<std::string, tensorflow::TensorInfo>* map, const std::string& key,
         const Output& tensor) {
  (*map)[key] = TensorInfoOf(tensor);
}

}  // namespace

tensorflow::TensorInfo TensorInfoOf(const Output& tensor) {
  tensorflow::TensorInfo info;
  info.set_name(tensor.tensor_name());
  info.set_dtype(static_cast<tensorflow::DataType>(tensor.dtype));
  tensor.shape.ToProto(info.mutable_tensor_shape());
  return info;
}

ExportOutput ExportOutput::Classification(Output scores, Output classes) {
  ExportOutput out;
  out.kind = Kind::kClassification;
  out.scores = std::move(scores);
  out.classes = std::move(classes);
  return out;
}

ExportOutput ExportOutput::Regression(Output value) {
  ExportOutput out;
  out.kind = Kind::kRegression;
  out.value = std::move(value);
  return out;
}

ExportOutput ExportOutput::Predict(std::map<std::string, Output> outputs) {
  ExportOutput out;
  out.kind = Kind::kPredict;
  out.outputs = std::move(outputs);
  return out;
}

Result<tensorflow::SignatureDef> ExportOutput::AsSignatureDef(
    const std::map<std::string, Output>& receiver_tensors) const {
  tensorflow::SignatureDef sig;
  switch (kind) {
    case Kind::kClassification: {
      if (scores.valid() && !IsFloating(scores.dtype)) {
        return InvalidArgumentError("Classification scores must be a float32 Tensor; got " +
                                    scores.tensor_name());
      }
      if (classes.valid() && classes.dtype != DataType::kString) {
        return InvalidArgumentError("Classification classes must be a string Tensor; got " +
                                    classes.tensor_name());
      }
      if (!scores.valid() && !classes.valid()) {
        return InvalidArgumentError(
            "Cannot create a ClassificationOutput with empty arguments. At least one of `scores` "
            "and `classes` must be defined.");
      }
      CKPT_ASSIGN_OR_RETURN(Output examples, SingleStringInput("Classification", receiver_tensors));
      Put(sig.mutable_inputs(), kClassifyInputs, examples);
      if (classes.valid()) Put(sig.mutable_outputs(), kClassifyOutputClasses, classes);
      if (scores.valid()) Put(sig.mutable_outputs(), kClassifyOutputScores, scores);
      sig.set_method_name(kClassifyMethodName);
      return sig;
    }
    case Kind::kRegression: {
      if (!value.valid() || !IsFloating(value.dtype)) {
        return InvalidArgumentError("Regression output value must be a float32 Tensor; got " +
                                    (value.valid() ? value.tensor_name() : std::string("None")));
      }
      CKPT_ASSIGN_OR_RETURN(Output examples, SingleStringInput("Regression", receiver_tensors));
      Put(sig.mutable_inputs(), kRegressInputs, examples);
      Put(sig.mutable_outputs(), kRegressOutputs, value);
      sig.set_method_name(kRegressMethodName);
      return sig;
    }
    case Kind::kPredict: {
      if (outputs.empty()) return InvalidArgumentError("Prediction outputs cannot be empty.");
      if (receiver_tensors.empty()) return InvalidArgumentError("Prediction inputs cannot be empty.");
      for (const auto& [key, t] : receiver_tensors) {
        if (!t.valid()) return InvalidArgumentError("Prediction input '" + key + "' is not a tensor");
        Put(sig.mutable_inputs(), key, t);
      }
      for (const auto& [key, t] : outputs) {
        if (!t.valid()) return InvalidArgumentError("Prediction output '" + key + "' is not a tensor");
        Put(sig.mutable_outputs(), key, t);
      }
      sig.set_method_name(kPredictMethodName);
      return sig;
    }
  }
  return InternalError("ExportOutput: unknown kind");
}

Result<std::map<std::string, tensorflow::SignatureDef>> BuildSignatureDefs(
    const std::map<std::string, Output>& receiver_tensors,
    const std::map<std::string, ExportOutput>& export_outputs,
    std::map<std::string, std::string>* excluded) {
  std::map<std::string, tensorflow::SignatureDef> signatures;
  for (const auto& [key, output] : export_outputs) {
    Result<tensorflow::SignatureDef> sig = output.AsSignatureDef(receiver_tensors);
    if (sig.ok()) {
      signatures[key] = std::move(sig).value();
    } else if (excluded != nullptr) {
      (*excluded)[key] = sig.status().message();
    }
  }
  if (signatures.empty()) {
    return InvalidArgumentError("none of the " + std::to_string(export_outputs.size()) +
                                " export outputs can take the serving inputs " +
                                Describe(receiver_tensors) + ": the export has no signature");
  }
  return signatures;
}

}  // namespace ckpt
