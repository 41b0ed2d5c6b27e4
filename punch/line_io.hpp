// punch — turning stdin's byte stream into lines, and lines back into output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace punch {

/// Longest line punch sends, without its '\n' (bytes). A line is one ENet packet; ENet fragments
/// anything over the MTU, so 64 KiB is about 50 fragments: generous for text, still bounded.
inline constexpr std::size_t kMaxLineLength = 64 * 1024;

/// The one-byte message that tells the peer our input has ended (ASCII EOT, what Ctrl-D types).
/// No line is ever sent without its '\n', so a line can never look like it.
inline constexpr char kEndOfInput = '\x04';

/// Splits a byte stream into lines. Each line keeps its '\n'; at the end of the stream a last
/// line without one gets one. Bytes are passed through untouched ('\r' and NUL included).
class LineSplitter {
  public:
    explicit LineSplitter(std::size_t max_line_length = kMaxLineLength)
        : max_line_length_(max_line_length) {}

    /// Appends bytes read from the stream.
    void feed(std::span<const char> bytes);

    /// Marks the end of the stream.
    void finish();

    /// Takes the next complete line, '\n' included. Returns false when there is none yet.
    bool next(std::string& line);

    /// True when next() has a line to give (a whole one, or the last one once finished).
    [[nodiscard]] bool pending() const;

    /// True once a line grew longer than the limit without a '\n'. Sticky; next() then
    /// returns nothing more.
    [[nodiscard]] bool overflowed() const { return overflowed_; }

    /// The 1-based number of the line being assembled (for error messages).
    [[nodiscard]] std::size_t line_number() const { return lines_taken_ + 1; }

  private:
    std::string buffer_;
    std::size_t start_ = 0;  // first byte of the line being assembled
    std::size_t scan_ = 0;   // bytes before this (from start_) hold no '\n'
    std::size_t max_line_length_;
    std::size_t lines_taken_ = 0;
    bool finished_ = false;
    bool overflowed_ = false;
};

/// What a message from the peer means to punch.
enum class Incoming { line, end_of_input };

/// Classifies a received message: the single byte kEndOfInput, or text to print.
[[nodiscard]] Incoming classify(std::span<const std::uint8_t> message);

/// The bytes to print for a received message: the message itself, plus a '\n' when it does not
/// end with one (so messages from peers that are not punch still print one per line).
[[nodiscard]] std::string printable(std::span<const std::uint8_t> message);

/// The same for a message from a party member: prefixed with its sender, "bob: hello\n".
[[nodiscard]] std::string printable_from(std::string_view sender,
                                         std::span<const std::uint8_t> message);

}  // namespace punch
