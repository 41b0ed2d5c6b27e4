// Owned names, and their file.
#include "owners.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "netcore/keys.hpp"

namespace rendezvous {

namespace {

// The file's first line; a file without it is not ours (docs/RENDEZVOUS.md "The names file").
constexpr std::string_view kHeader = "# netcore rendezvous names v1";
// A names file at the default cap is about 11 MB (110 bytes a line); far larger is the wrong file.
constexpr std::size_t kMaxFileSize = std::size_t{256} << 20;  // bytes

// Closes a descriptor when the scope ends.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

std::string read_all(int fd, std::string& out) {
    std::array<char, 65536> buffer{};
    for (;;) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::strerror(errno);
        if (n == 0) return {};
        out.append(buffer.data(), static_cast<std::size_t>(n));
        if (out.size() > kMaxFileSize) return "larger than 256 MB";
    }
}

std::string write_all(int fd, std::string_view text) {
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::strerror(errno);
        written += static_cast<std::size_t>(n);
    }
    return {};
}

// Splits `line` at single spaces into exactly three fields.
bool three_fields(std::string_view line, std::array<std::string_view, 3>& out) {
    std::size_t field = 0;
    while (field < 3) {
        const auto space = line.find(' ');
        if (field < 2 && space == std::string_view::npos) return false;
        if (field == 2 && space != std::string_view::npos) return false;
        out[field++] = line.substr(0, space);
        if (space == std::string_view::npos) break;
        line.remove_prefix(space + 1);
    }
    return field == 3;
}

}  // namespace

const Binding* Owners::find(std::string_view name, std::int64_t now) const {
    const auto it = bindings_.find(name);
    if (it == bindings_.end() || expired(it->second, now)) return nullptr;
    return &it->second;
}

const Binding* Owners::lookup(std::string_view name) const {
    const auto it = bindings_.find(name);
    return it == bindings_.end() ? nullptr : &it->second;
}

bool Owners::bind(std::string_view name, const netcore::protocol::OwnerKey& key, std::int64_t now) {
    auto it = bindings_.find(name);
    if (it == bindings_.end()) {
        if (bindings_.size() >= max_) return false;
        it = bindings_.emplace(std::string(name), Binding{}).first;
    }
    if (it->second.key != key || it->second.last_seen != now) dirty_ = true;
    it->second.key = key;
    it->second.last_seen = now;
    return true;
}

bool Owners::touch(std::string_view name, const netcore::protocol::OwnerKey& key,
                   std::int64_t now) {
    const auto it = bindings_.find(name);
    if (it == bindings_.end() || it->second.key != key) return false;
    if (now - it->second.last_seen >= kLastSeenStep) {
        it->second.last_seen = now;
        dirty_ = true;
    }
    return true;
}

std::string Owners::to_text() const {
    // Sorted by name: the file diffs well, and two saves of one table are the same bytes.
    std::vector<const std::pair<const std::string, Binding>*> rows;
    rows.reserve(bindings_.size());
    for (const auto& row : bindings_) rows.push_back(&row);
    std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->first < b->first; });
    std::string text;
    text.reserve(64 + rows.size() * 112);
    text += kHeader;
    text += "\n# name owner-key(Ed25519, hex) last-seen(unix seconds)\n";
    for (const auto* row : rows) {
        text += row->first;
        text += ' ';
        text += netcore::to_hex(row->second.key);
        text += ' ';
        text += std::to_string(row->second.last_seen);
        text += '\n';
    }
    return text;
}

std::string Owners::load(const std::string& path, std::int64_t now) {
    bindings_.clear();
    dirty_ = false;
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
        if (errno == ENOENT) return {};  // a first start: no bindings yet
        return path + ": cannot read: " + std::strerror(errno);
    }
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) return path + ": cannot read: " + std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return path + ": not a regular file";
    std::string text;
    if (auto why = read_all(file.fd, text); !why.empty()) return path + ": cannot read: " + why;

    std::string_view rest = text;
    std::size_t line_number = 0;
    while (!rest.empty()) {
        const auto end = rest.find('\n');
        if (end == std::string_view::npos) return path + ": the last line is cut short";
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end + 1);
        ++line_number;
        const auto where = path + ":" + std::to_string(line_number) + ": ";
        if (line_number == 1) {
            if (line != kHeader)
                return where + "not a names file (its first line must be '" + std::string(kHeader) +
                       "')";
            continue;
        }
        if (line.empty() || line.front() == '#') continue;
        std::array<std::string_view, 3> f{};
        if (!three_fields(line, f))
            return where + "expected 'name key last-seen' separated by single spaces";
        if (!netcore::protocol::valid_name(f[0])) return where + "not a valid name";
        const auto key = netcore::parse_key(f[1]);
        if (!key || f[1].size() != 2 * netcore::kKeySize)
            return where + "the key is not 64 hex digits";
        std::int64_t last_seen = 0;
        const auto [end_of_number, ec] =
            std::from_chars(f[2].data(), f[2].data() + f[2].size(), last_seen);
        if (ec != std::errc{} || end_of_number != f[2].data() + f[2].size() || last_seen < 0)
            return where + "the last-seen time is not a number of seconds";
        if (bindings_.contains(f[0])) return where + "the name is listed twice";
        bindings_.emplace(std::string(f[0]), Binding{*key, last_seen});
    }
    // Held too long ago: gone, as the sweep would do.
    const std::size_t read = bindings_.size();
    std::erase_if(bindings_, [&](const auto& row) { return expired(row.second, now); });
    if (line_number == 0) return path + ": empty (a names file starts with its header line)";
    if (bindings_.size() > max_)
        return path + ": " + std::to_string(bindings_.size()) +
               " bindings still held, more than --max-owned-names (" + std::to_string(max_) + ")";
    dirty_ = read != bindings_.size();  // expired ones were dropped: the file should say so
    return {};
}

std::string Owners::save(const std::string& path) {
    const std::string text = to_text();
    const std::string tmp = path + ".tmp";
    std::string why;
    {
        // A fixed name: a crash leaves at most one stale .tmp, which the next save truncates.
        Fd file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
        if (file.fd < 0) return "cannot write " + tmp + ": " + std::strerror(errno);
        why = write_all(file.fd, text);
        // The mode of a .tmp an older run left may be wider: owner keys are not secret, but
        // last-seen times say when each player plays.
        if (why.empty() && ::fchmod(file.fd, 0600) != 0) why = std::strerror(errno);
        if (why.empty() && ::fsync(file.fd) != 0) why = std::strerror(errno);
    }
    if (why.empty() && ::rename(tmp.c_str(), path.c_str()) != 0) why = std::strerror(errno);
    if (!why.empty()) {
        ::unlink(tmp.c_str());
        return "cannot write " + path + ": " + why;
    }
    // The rename is durable once the directory is synced.
    const auto slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    Fd directory{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (directory.fd >= 0) ::fsync(directory.fd);
    dirty_ = false;
    return {};
}

}  // namespace rendezvous
