// TensorBoard event files: writing summaries during training and reading
// them back, without TensorFlow.
//
// An umbrella header: it only includes the headers of the pieces, so code
// written against it keeps compiling. New code includes what it uses:
//   ckpt/event_file.h    file names, file_version, SessionLogStatus
//   ckpt/histogram.h     Histogram, HistogramData
//   ckpt/event_writer.h  EventWriter (thread-safe)
//   ckpt/event_reader.h  EventFileReader, ReadEventFile, ReadEventDir
//   ckpt/record.h        the TFRecord framing under them
//
// Thread safety: as each of those headers says.
#ifndef CKPT_SUMMARY_H_
#define CKPT_SUMMARY_H_

#include "ckpt/event_file.h"
#include "ckpt/event_reader.h"
#include "ckpt/event_writer.h"
#include "ckpt/histogram.h"
#include "ckpt/record.h"

#endif  // CKPT_SUMMARY_H_
