#include "tokenizer/regex.h"

#include <algorithm>
#include <stdexcept>

#include "formats/utf8_validate.h"
#include "tokenizer/unicode.h"

namespace lockstep::tokenizer {

struct Backtrack {
    enum Kind : uint8_t { kAt, kFewer, kMore } kind;
    uint32_t pc;
    size_t pos;    // kAt: where to resume; kFewer/kMore: the next position to try
    size_t limit;  // kFewer: lowest position; kMore: highest position
};

bool CharClass::contains_slow(char32_t c, uint16_t flags) const {
    bool member = (flags & any_flags) != 0;
    for (size_t i = 0; !member && i < ranges.size(); ++i) member = c >= ranges[i].first && c <= ranges[i].second;
    for (size_t i = 0; !member && i < missing_flags.size(); ++i) member = (flags & missing_flags[i]) == 0;
    return member != negated;
}

void CharClass::finalize() {
    ascii[0] = ascii[1] = 0;
    for (char32_t c = 0; c < 128; ++c)
        if (contains_slow(c, codepoint_flags(c))) ascii[c >> 6] |= uint64_t(1) << (c & 63);
}

namespace {

constexpr uint32_t kUnbounded = UINT32_MAX;

struct Node {
    enum Kind { kClass, kSeq, kAlt, kRepeat, kLook, kEndOfLine } kind = kSeq;
    Node() = default;
    explicit Node(Kind k) : kind(k) {}
    uint32_t cls = 0;
    std::vector<Node> kids;
    uint32_t min = 0, max = 0;
    bool greedy = true, possessive = false, negate = false;
};

bool nullable(const Node& n) {
    switch (n.kind) {
        case Node::kClass: return false;
        case Node::kLook:
        case Node::kEndOfLine: return true;
        case Node::kRepeat: return n.min == 0 || nullable(n.kids[0]);
        case Node::kSeq:
            return std::all_of(n.kids.begin(), n.kids.end(), [](const Node& k) { return nullable(k); });
        case Node::kAlt:
            return std::any_of(n.kids.begin(), n.kids.end(), [](const Node& k) { return nullable(k); });
    }
    return true;
}

// Classes that may hold the first code point of a match of `n` (a superset).
void first_classes(const Node& n, std::vector<uint32_t>& out) {
    switch (n.kind) {
        case Node::kClass: out.push_back(n.cls); return;
        case Node::kLook:
        case Node::kEndOfLine: return;
        case Node::kRepeat: first_classes(n.kids[0], out); return;
        case Node::kAlt:
            for (const auto& k : n.kids) first_classes(k, out);
            return;
        case Node::kSeq:
            for (const auto& k : n.kids) {
                first_classes(k, out);
                if (!nullable(k)) return;
            }
            return;
    }
}

}  // namespace

// Parses a pattern into nodes and compiles them into the backtracking program.
class RegexCompiler {
public:
    RegexCompiler(Regex& re, std::string_view pattern) : re_(re), p_(pattern) {}

    void compile() {
        if (first_invalid_utf8(p_) != std::string_view::npos) fail("the pattern is not valid UTF-8");
        Node root = parse_alternation();
        if (pos_ != p_.size()) fail("unbalanced ')'");
        emit_node(root);
        re_.program_.push_back({Regex::Instruction::kMatch});
        for (auto& c : re_.classes_) c.finalize();
        re_.nullable_ = nullable(root);
        if (!re_.nullable_) {
            first_classes(root, re_.first_classes_);
            std::sort(re_.first_classes_.begin(), re_.first_classes_.end());
            re_.first_classes_.erase(std::unique(re_.first_classes_.begin(), re_.first_classes_.end()),
                                     re_.first_classes_.end());
        }
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw std::invalid_argument("regex '" + std::string(p_) + "' at " + std::to_string(pos_) + ": " + what);
    }
    bool at_end() const { return pos_ >= p_.size(); }
    char peek() const { return at_end() ? '\0' : p_[pos_]; }
    bool accept(char c) {
        if (peek() != c || at_end()) return false;
        ++pos_;
        return true;
    }
    char32_t next_codepoint() {
        if (at_end()) fail("unexpected end of pattern");
        return decode_utf8_at(p_, pos_);
    }

    uint32_t add_class(CharClass c) {
        re_.classes_.push_back(std::move(c));
        return static_cast<uint32_t>(re_.classes_.size() - 1);
    }
    Node class_node(CharClass c) {
        Node n(Node::kClass);
        n.cls = add_class(std::move(c));
        return n;
    }

    Node parse_alternation() {
        std::vector<Node> alts;
        alts.push_back(parse_sequence());
        while (accept('|')) alts.push_back(parse_sequence());
        if (alts.size() == 1) return std::move(alts[0]);
        Node n(Node::kAlt);
        n.kids = std::move(alts);
        return n;
    }

    Node parse_sequence() {
        Node n(Node::kSeq);
        while (!at_end() && peek() != '|' && peek() != ')') n.kids.push_back(parse_quantified());
        return n;
    }

    uint32_t parse_number() {
        if (at_end() || !std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a number in {}");
        uint64_t v = 0;
        while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) {
            v = v * 10 + static_cast<uint64_t>(p_[pos_++] - '0');
            if (v > 100000) fail("repetition count too large");
        }
        return static_cast<uint32_t>(v);
    }

    Node parse_quantified() {
        Node atom = parse_atom();
        uint32_t lo, hi;
        if (accept('?')) {
            lo = 0, hi = 1;
        } else if (accept('*')) {
            lo = 0, hi = kUnbounded;
        } else if (accept('+')) {
            lo = 1, hi = kUnbounded;
        } else if (peek() == '{') {
            ++pos_;
            lo = parse_number();
            hi = lo;
            if (accept(',')) hi = peek() == '}' ? kUnbounded : parse_number();
            if (!accept('}')) fail("expected '}'");
            if (hi < lo) fail("repetition {n,m} with m < n");
        } else {
            return atom;
        }
        Node n(Node::kRepeat);
        n.min = lo;
        n.max = hi;
        if (accept('?')) n.greedy = false;
        else if (accept('+')) n.possessive = true;
        if (atom.kind == Node::kLook || atom.kind == Node::kEndOfLine) fail("quantified assertion");
        n.kids.push_back(std::move(atom));
        if (peek() == '?' || peek() == '*' || peek() == '+' || peek() == '{') fail("nested quantifier");
        return n;
    }

    Node parse_atom() {
        const char c = peek();
        if (c == '(') {
            ++pos_;
            bool saved_icase = icase_;
            Node inner;
            if (accept('?')) {
                if (accept(':')) {
                    inner = parse_alternation();
                } else if (accept('=') || peek() == '!') {
                    bool negate = accept('!');
                    inner = Node(Node::kLook);
                    inner.negate = negate;
                    inner.kids.push_back(parse_alternation());
                } else if (accept('i')) {
                    if (!accept(':')) fail("only the (?i:...) form of flags is supported");
                    icase_ = true;
                    inner = parse_alternation();
                } else {
                    fail("unsupported group syntax");
                }
            } else {
                inner = parse_alternation();  // capture groups do not matter for splitting
            }
            icase_ = saved_icase;
            if (!accept(')')) fail("expected ')'");
            return inner;
        }
        if (c == '[') {
            ++pos_;
            return class_node(parse_bracket());
        }
        if (c == '.') {
            ++pos_;
            CharClass any;
            any.negated = true;
            any.ranges.push_back({U'\n', U'\n'});
            return class_node(std::move(any));
        }
        if (c == '$') {
            ++pos_;
            return Node(Node::kEndOfLine);
        }
        if (c == '^') fail("'^' is not supported");
        if (c == ')' || c == '|' || c == '*' || c == '+' || c == '?' || c == '{') fail("unexpected metacharacter");
        CharClass single;
        if (c == '\\') {
            ++pos_;
            parse_escape(single);
        } else {
            add_literal(single, next_codepoint());
        }
        return class_node(std::move(single));
    }

    void add_literal(CharClass& cls, char32_t c) {
        cls.ranges.push_back({c, c});
        if (!icase_) return;
        if (c < 128 && std::isalpha(static_cast<int>(c))) {
            const char32_t lower = c | 0x20, upper = c & ~char32_t(0x20);
            cls.ranges.push_back({lower, lower});
            cls.ranges.push_back({upper, upper});
            // Unicode simple case folding maps these two non-ASCII letters onto ASCII ones.
            if (lower == U's') cls.ranges.push_back({0x17F, 0x17F});  // LATIN SMALL LETTER LONG S
            if (lower == U'k') cls.ranges.push_back({0x212A, 0x212A});  // KELVIN SIGN
        } else if (c >= 128) {
            fail("case-insensitive matching of non-ASCII letters is not supported");
        }
    }

    // \p{..} / \P{..} name to flag bits.
    uint16_t property_flags(std::string_view name) {
        struct Entry {
            std::string_view name;
            uint16_t flags;
        };
        static constexpr Entry kProps[] = {
            {"L", cp::kLetter}, {"Letter", cp::kLetter}, {"Lu", cp::kUppercase}, {"Ll", cp::kLowercase},
            {"Lt", cp::kTitlecase}, {"Lm", cp::kModifier}, {"Lo", cp::kOtherLetter},
            {"N", cp::kNumber}, {"Number", cp::kNumber}, {"Nd", cp::kDecimal},
            {"P", cp::kPunctuation}, {"Punctuation", cp::kPunctuation},
            {"S", cp::kSymbol}, {"Symbol", cp::kSymbol},
            {"M", cp::kMark}, {"Mark", cp::kMark}, {"Mn", cp::kNonspacing},
            {"Z", cp::kSeparator}, {"Separator", cp::kSeparator},
            {"C", cp::kOther}, {"Other", cp::kOther}, {"Cc", cp::kControl},
        };
        for (const auto& e : kProps)
            if (e.name == name) return e.flags;
        fail("unsupported Unicode property '" + std::string(name) + "'");
    }

    // After a backslash: adds what the escape denotes to `cls`.
    void parse_escape(CharClass& cls) {
        if (at_end()) fail("trailing backslash");
        const char e = p_[pos_++];
        switch (e) {
            case 's': cls.any_flags |= cp::kWhiteSpace; return;
            case 'S': cls.missing_flags.push_back(cp::kWhiteSpace); return;
            case 'd': cls.any_flags |= cp::kDecimal; return;
            case 'D': cls.missing_flags.push_back(cp::kDecimal); return;
            case 'p':
            case 'P': {
                std::string_view name;
                if (accept('{')) {
                    const size_t close = p_.find('}', pos_);
                    if (close == std::string_view::npos) fail("unterminated \\p{");
                    name = p_.substr(pos_, close - pos_);
                    pos_ = close + 1;
                } else {
                    if (at_end()) fail("unterminated \\p");
                    name = p_.substr(pos_++, 1);
                }
                const uint16_t flags = property_flags(name);
                if (e == 'p') cls.any_flags |= flags;
                else cls.missing_flags.push_back(flags);
                return;
            }
            case 'n': add_literal(cls, U'\n'); return;
            case 'r': add_literal(cls, U'\r'); return;
            case 't': add_literal(cls, U'\t'); return;
            case 'f': add_literal(cls, U'\f'); return;
            case 'v': add_literal(cls, U'\v'); return;
            case 'x': {
                char32_t v = 0;
                int digits = 0;
                const bool braced = accept('{');
                while (!at_end() && std::isxdigit(static_cast<unsigned char>(peek())) && (braced || digits < 2)) {
                    const char h = p_[pos_++];
                    v = v * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (h | 0x20) - 'a' + 10);
                    if (++digits > 6) fail("\\x escape too long");
                }
                if (braced && !accept('}')) fail("expected '}' after \\x{");
                if (digits == 0 || v > kMaxCodepoint) fail("bad \\x escape");
                add_literal(cls, v);
                return;
            }
            default:
                if (std::isalnum(static_cast<unsigned char>(e))) fail(std::string("unsupported escape \\") + e);
                add_literal(cls, static_cast<char32_t>(static_cast<unsigned char>(e)));
                return;
        }
    }

    // After '[': the class up to and including its ']'.
    CharClass parse_bracket() {
        CharClass cls;
        if (accept('^')) cls.negated = true;
        bool first = true;
        while (true) {
            if (at_end()) fail("unterminated character class");
            if (peek() == ']' && !first) {
                ++pos_;
                break;
            }
            first = false;
            if (peek() == '[') fail("nested character classes are not supported");
            if (p_.substr(pos_, 2) == "&&") fail("class intersection is not supported");
            char32_t lo;
            if (accept('\\')) {
                const char e = peek();
                const bool is_set = e == 's' || e == 'S' || e == 'd' || e == 'D' || e == 'p' || e == 'P';
                CharClass escaped;
                const bool saved = icase_;
                icase_ = false;
                parse_escape(escaped);
                icase_ = saved;
                if (is_set) {
                    cls.any_flags |= escaped.any_flags;
                    cls.missing_flags.insert(cls.missing_flags.end(), escaped.missing_flags.begin(), escaped.missing_flags.end());
                    continue;
                }
                lo = escaped.ranges[0].first;
            } else {
                lo = next_codepoint();
            }
            if (peek() == '-' && pos_ + 1 < p_.size() && p_[pos_ + 1] != ']') {
                ++pos_;
                char32_t hi;
                if (accept('\\')) {
                    CharClass escaped;
                    const bool saved = icase_;
                    icase_ = false;
                    parse_escape(escaped);
                    icase_ = saved;
                    if (escaped.ranges.size() != 1) fail("a range must end in a single character");
                    hi = escaped.ranges[0].first;
                } else {
                    hi = next_codepoint();
                }
                if (hi < lo) fail("range out of order");
                if (icase_ && (lo >= 128 || hi >= 128)) fail("case-insensitive non-ASCII ranges are not supported");
                cls.ranges.push_back({lo, hi});
                if (icase_) {
                    for (char32_t c = lo; c <= hi; ++c)
                        if (std::isalpha(static_cast<int>(c))) add_literal(cls, c);
                }
            } else {
                add_literal(cls, lo);
            }
        }
        return cls;
    }

    using Op = Regex::Instruction::Op;
    uint32_t here() const { return static_cast<uint32_t>(re_.program_.size()); }
    uint32_t emit(Regex::Instruction ins) {
        re_.program_.push_back(ins);
        return here() - 1;
    }

    void emit_node(const Node& n) {
        switch (n.kind) {
            case Node::kClass: {
                Regex::Instruction ins{Op::kClass};
                ins.cls = n.cls;
                emit(ins);
                return;
            }
            case Node::kSeq:
                for (const auto& k : n.kids) emit_node(k);
                return;
            case Node::kAlt: {
                std::vector<uint32_t> jumps;
                for (size_t i = 0; i < n.kids.size(); ++i) {
                    if (i + 1 < n.kids.size()) {
                        // An alternative that cannot start with the next code point is not tried.
                        Regex::Instruction ins{Op::kSplit};
                        if (!nullable(n.kids[i])) {
                            std::vector<uint32_t> first;
                            first_classes(n.kids[i], first);
                            ins.guard = static_cast<int32_t>(re_.guards_.size());
                            re_.guards_.push_back(std::move(first));
                        }
                        const uint32_t split = emit(ins);
                        emit_node(n.kids[i]);
                        jumps.push_back(emit({Op::kJump}));
                        re_.program_[split].target = here();
                    } else {
                        emit_node(n.kids[i]);
                    }
                }
                for (uint32_t j : jumps) re_.program_[j].target = here();
                return;
            }
            case Node::kLook: {
                Regex::Instruction ins{Op::kLook};
                ins.negate = n.negate;
                const uint32_t look = emit(ins);
                emit_node(n.kids[0]);
                emit({Op::kLookEnd});
                re_.program_[look].target = here();
                return;
            }
            case Node::kRepeat: emit_repeat(n); return;
            case Node::kEndOfLine: emit({Op::kEndOfLine}); return;
        }
    }

    void emit_repeat(const Node& n) {
        const Node& body = n.kids[0];
        if (body.kind == Node::kClass) {
            Regex::Instruction ins{Op::kRepeat};
            ins.cls = body.cls;
            ins.min = n.min;
            ins.max = n.max;
            ins.greedy = n.greedy;
            ins.possessive = n.possessive;
            emit(ins);
            return;
        }
        if (n.possessive) fail("possessive repetition of a group is not supported");
        if (nullable(body)) fail("repetition of a group that can match the empty string");
        if (n.min > 64 || (n.max != kUnbounded && n.max > 64)) fail("counted repetition of a group above 64");
        for (uint32_t i = 0; i < n.min; ++i) emit_node(body);
        if (n.max == kUnbounded) {
            // loop: split(body, exit); body; jump loop   (choices swapped when lazy)
            const uint32_t loop = emit({Op::kSplit});
            emit_node(body);
            Regex::Instruction back{Op::kJump};
            back.target = loop;
            emit(back);
            set_split(loop, here(), n.greedy);
            return;
        }
        std::vector<uint32_t> splits;
        for (uint32_t i = n.min; i < n.max; ++i) {
            splits.push_back(emit({Op::kSplit}));
            emit_node(body);
        }
        for (uint32_t s : splits) set_split(s, here(), n.greedy);
    }

    // A split tries the instruction after it first and `target` second; a lazy one (greedy
    // false) tries `target`, the exit, first.
    void set_split(uint32_t at, uint32_t exit, bool greedy) {
        re_.program_[at].target = exit;
        re_.program_[at].greedy = greedy;
    }

    Regex& re_;
    std::string_view p_;
    size_t pos_ = 0;
    bool icase_ = false;
};

Regex::Regex(std::string_view pattern) : pattern_(pattern) {
    RegexCompiler(*this, pattern_).compile();
}

bool Regex::in_any(const std::vector<uint32_t>& classes, const CodepointText& text, size_t pos) const {
    if (pos >= text.size) return false;
    const char32_t c = text.cps[pos];
    const uint16_t f = text.flags[pos];
    for (uint32_t id : classes)
        if (classes_[id].contains(c, f)) return true;
    return false;
}

bool Regex::may_start_at(const CodepointText& text, size_t pos) const {
    return nullable_ || in_any(first_classes_, text, pos);
}

long Regex::run(const CodepointText& text, uint32_t pc, size_t pos, std::vector<Backtrack>& stack, uint64_t& budget) const {
    const size_t base = stack.size();
    const size_t n = text.size;
    while (true) {
        if (budget-- == 0)
            throw RegexTooSlow("the regex '" + pattern_ + "' needs too many backtracking steps on this text (" +
                                        std::to_string(text.size) + " code points): a pathological pattern");
        bool ok = true;
        const Instruction& ins = program_[pc];
        switch (ins.op) {
            case Instruction::kClass:
                if (pos < n && classes_[ins.cls].contains(text.cps[pos], text.flags[pos])) {
                    ++pos;
                    ++pc;
                } else {
                    ok = false;
                }
                break;
            case Instruction::kRepeat: {
                const CharClass& cls = classes_[ins.cls];
                const size_t limit = ins.max == UINT32_MAX ? n : std::min(n, pos + ins.max);
                const size_t lowest = pos + ins.min;
                if (lowest > n) {
                    ok = false;
                    break;
                }
                if (ins.greedy) {
                    size_t end = pos;
                    while (end < limit && cls.contains(text.cps[end], text.flags[end])) ++end;
                    if (end < lowest) {
                        ok = false;
                        break;
                    }
                    if (end > lowest && !ins.possessive) stack.push_back({Backtrack::kFewer, pc + 1, end - 1, lowest});
                    pos = end;
                } else {
                    size_t end = pos;
                    while (end < lowest && cls.contains(text.cps[end], text.flags[end])) ++end;
                    if (end < lowest) {
                        ok = false;
                        break;
                    }
                    if (end < limit && cls.contains(text.cps[end], text.flags[end]))
                        stack.push_back({Backtrack::kMore, pc + 1, end + 1, limit});
                    pos = end;
                }
                ++pc;
                break;
            }
            case Instruction::kSplit:
                if (ins.guard >= 0 && !in_any(guards_[ins.guard], text, pos)) {
                    pc = ins.target;
                    break;
                }
                if (ins.greedy) {
                    stack.push_back({Backtrack::kAt, ins.target, pos, 0});
                    ++pc;
                } else {
                    stack.push_back({Backtrack::kAt, pc + 1, pos, 0});
                    pc = ins.target;
                }
                break;
            case Instruction::kJump: pc = ins.target; break;
            case Instruction::kEndOfLine:
                // Oniguruma's Ruby syntax (Hugging Face's): '$' is the end of any line.
                if (pos == n || text.cps[pos] == U'\n') ++pc;
                else ok = false;
                break;
            case Instruction::kLook: {
                // Lookahead is atomic: its own backtracking ends when it is decided.
                const bool matched = run(text, pc + 1, pos, stack, budget) >= 0;
                if (matched == ins.negate) ok = false;
                else pc = ins.target;
                break;
            }
            case Instruction::kLookEnd:
            case Instruction::kMatch:
                stack.resize(base);
                return static_cast<long>(pos);
        }
        if (ok) continue;
        // Backtrack to the most recent choice of this run.
        while (true) {
            if (stack.size() == base) return -1;
            Backtrack& b = stack.back();
            if (b.kind == Backtrack::kAt) {
                pc = b.pc;
                pos = b.pos;
                stack.pop_back();
                break;
            }
            if (b.kind == Backtrack::kFewer) {
                pc = b.pc;
                pos = b.pos;
                if (b.pos > b.limit) --b.pos;
                else stack.pop_back();
                break;
            }
            // kMore: one more repetition of a lazy quantifier, if the class allows it.
            pc = b.pc;
            pos = b.pos;
            const Instruction& rep = program_[b.pc - 1];
            if (b.pos < b.limit && classes_[rep.cls].contains(text.cps[b.pos], text.flags[b.pos])) ++b.pos;
            else stack.pop_back();
            break;
        }
    }
}

bool Regex::search(const CodepointText& text, size_t from, size_t& begin, size_t& end) const {
    thread_local std::vector<Backtrack> stack;
    // Real pre-tokenizer patterns take a few steps per code point; catastrophic backtracking
    // (a nested quantifier of a hostile tokenizer.json) is stopped with an error instead.
    uint64_t budget = kStepBudget + kStepsPerCodepoint * (text.size - std::min(from, text.size));
    for (size_t start = from; start < text.size; ++start) {
        if (!may_start_at(text, start)) continue;
        stack.clear();
        const long e = run(text, 0, start, stack, budget);
        if (e > static_cast<long>(start)) {
            begin = start;
            end = static_cast<size_t>(e);
            return true;
        }
    }
    return false;
}

}  // namespace lockstep::tokenizer
