// Fuzzes TFRecord framing and event files: RecordReader in strict and
// follow mode (including re-reading after "no more yet"), EventFileReader
// and ReadEventFile (framing + Event decoding).
#include <string>
#include <vector>

#include "ckpt/record.h"
#include "ckpt/summary.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ckpt;  // NOLINT
  auto env = NewMemEnv();
  const std::string path = "/logs/events.out.tfevents.1.host";
  ckpt::fuzz::PutFile(env.get(), path,
                      std::string_view(reinterpret_cast<const char*>(data), size));
  for (RecordReader::Mode mode : {RecordReader::Mode::kStrict, RecordReader::Mode::kFollow}) {
    RecordReader::Options options;
    options.mode = mode;
    auto reader = RecordReader::Open(env.get(), path, options);
    if (!reader.ok()) continue;
    std::string record;
    for (int i = 0; i < 100000; ++i) {
      auto more = (*reader)->ReadRecord(&record);
      if (!more.ok() || !*more) break;
    }
    // Again at the end (follow mode re-opens the file).
    (void)(*reader)->ReadRecord(&record);
  }
  {
    auto reader = EventFileReader::Open(env.get(), path);
    if (reader.ok()) {
      std::vector<EventValue> values;
      for (int i = 0; i < 100000; ++i) {
        auto more = (*reader)->Next(&values);
        if (!more.ok() || !*more) break;
      }
    }
  }
  auto rows = ReadEventFile(env.get(), path);
  (void)rows;
  auto dir_rows = ReadEventDir(env.get(), "/logs");
  (void)dir_rows;
  return 0;
}
