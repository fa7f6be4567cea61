// Text that an agent, a patch or a model chose, made safe to print on a terminal.
#ifndef SWARM_BASE_TERMINAL_TEXT_H_
#define SWARM_BASE_TERMINAL_TEXT_H_

#include <string>
#include "absl/strings/string_view.h"

namespace swarm {

enum class TextLines { kSingle, kMulti };

// `text` with every byte or character a terminal could act on written as a visible escape: C0
// controls, DEL and ESC as \xNN, C1 controls and the bidirectional and line-separator characters as
// \uNNNN, bytes that are not UTF-8 as \xNN. Valid UTF-8 otherwise stays as it is. With kMulti, '\n'
// and '\t' are kept (text meant to span lines, such as a log excerpt); with kSingle they are escaped
// too, so that one field cannot forge another line of output.
std::string TerminalSafe(absl::string_view text, TextLines lines = TextLines::kSingle);

}  // namespace swarm

#endif  // SWARM_BASE_TERMINAL_TEXT_H_
