// TensorBoard event files: the facts both their writer and their reader
// use. An event file is a TFRecord file (ckpt/record.h) of serialized
// tensorflow.Event protos named
//   <logdir>/events.out.tfevents.<10-digit creation seconds>.<hostname><suffix>
// whose first record holds the creation time and file_version
// "brain.Event:2". TensorBoard, tf.summary and tf.compat.v1.summary read and
// write the same files. Writing: ckpt/event_writer.h; reading:
// ckpt/event_reader.h.
//
// Thread safety: the functions are reentrant.
#ifndef CKPT_EVENT_FILE_H_
#define CKPT_EVENT_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace ckpt {

// "brain.Event:2", the file_version of the first record.
inline constexpr std::string_view kEventFileVersion = "brain.Event:2";

// The name TensorFlow gives an event file created at `seconds`:
// "events.out.tfevents.0001700000.myhost" + suffix.
std::string EventFileName(int64_t seconds, std::string_view hostname, std::string_view suffix);

// True if `name` (a file name, not a path) is an event file as TensorBoard
// sees it: its name contains "tfevents".
bool IsEventFileName(std::string_view name);

// The status of a SessionLog event (tensorflow.SessionLog.SessionStatus).
enum class SessionLogStatus { kUnspecified = 0, kStart = 1, kStop = 2, kCheckpoint = 3 };

}  // namespace ckpt

#endif  // CKPT_EVENT_FILE_H_
