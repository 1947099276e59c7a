package io.expertmesh.model.guided;

import java.util.ArrayList;
import java.util.List;

/**
 * A regular expression (vLLM's {@code guided_regex}) to its byte language; the whole output must
 * match. Syntax: literals (any Unicode), {@code .} (any character but a newline), escapes
 * {@code \d \D \w \W \s \S \n \r \t} and escaped metacharacters, ASCII classes {@code [a-z_]},
 * {@code [^"]} (a negated class also matches every non-ASCII character), groups {@code (..)} and
 * {@code (?:..)}, {@code |}, and the quantifiers {@code * + ? {n} {n,} {n,m}} with counts up to
 * {@value #MAX_REPEAT}. A leading {@code ^} and trailing {@code $} are allowed. Anything else
 * (backreferences, lookaround, lazy quantifiers, non-ASCII class ranges) is a {@link GuideException}.
 */
public final class RegexPatterns {
    public static final int MAX_LENGTH = 4096;
    public static final int MAX_REPEAT = 256;

    private final String re;
    private int at;

    private RegexPatterns(String re) {
        this.re = re;
    }

    static BytePattern compile(String regex) {
        if (regex.length() > MAX_LENGTH) throw new GuideException("the regex is longer than " + MAX_LENGTH + " characters");
        String body = regex;
        if (body.startsWith("^")) body = body.substring(1);
        if (body.endsWith("$") && !body.endsWith("\\$")) body = body.substring(0, body.length() - 1);
        RegexPatterns parser = new RegexPatterns(body);
        BytePattern p = parser.alternation(0);
        if (parser.at < body.length()) throw parser.error("unexpected ')'");
        return p;
    }

    private GuideException error(String what) {
        return new GuideException("invalid regex at offset " + at + ": " + what);
    }

    private BytePattern alternation(int depth) {
        if (depth > 64) throw error("groups nest deeper than 64");
        List<BytePattern> options = new ArrayList<>();
        options.add(sequence(depth));
        while (at < re.length() && re.charAt(at) == '|') {
            at++;
            options.add(sequence(depth));
        }
        return options.size() == 1 ? options.getFirst() : new BytePattern.Alt(options);
    }

    private BytePattern sequence(int depth) {
        List<BytePattern> parts = new ArrayList<>();
        while (at < re.length() && re.charAt(at) != '|' && re.charAt(at) != ')') {
            BytePattern atom = atom(depth);
            parts.add(quantified(atom));
        }
        return new BytePattern.Concat(parts);
    }

    private BytePattern quantified(BytePattern atom) {
        if (at >= re.length()) return atom;
        char c = re.charAt(at);
        int min, max;
        switch (c) {
            case '*' -> { min = 0; max = BytePattern.UNBOUNDED; at++; }
            case '+' -> { min = 1; max = BytePattern.UNBOUNDED; at++; }
            case '?' -> { min = 0; max = 1; at++; }
            case '{' -> {
                int close = re.indexOf('}', at);
                if (close < 0) throw error("'{' without '}'");
                String inside = re.substring(at + 1, close);
                if (!inside.matches("[0-9]{1,4}(,[0-9]{0,4})?")) throw error("bad repetition {" + inside + "}");
                String[] parts = inside.split(",", -1);
                min = Integer.parseInt(parts[0]);
                max = parts.length == 1 ? min : parts[1].isEmpty() ? BytePattern.UNBOUNDED : Integer.parseInt(parts[1]);
                if (min > MAX_REPEAT || max > MAX_REPEAT) throw error("repetition counts are limited to " + MAX_REPEAT);
                if (max != BytePattern.UNBOUNDED && max < min) throw error("repetition {" + inside + "} has max below min");
                at = close + 1;
            }
            default -> { return atom; }
        }
        if (at < re.length() && (re.charAt(at) == '?' || re.charAt(at) == '+')) throw error("lazy and possessive quantifiers are not supported");
        if (at < re.length() && "*+?{".indexOf(re.charAt(at)) >= 0) throw error("a quantifier follows a quantifier");
        return new BytePattern.Repeat(atom, min, max);
    }

    private BytePattern atom(int depth) {
        int cp = re.codePointAt(at);
        switch (cp) {
            case '(' -> {
                at++;
                if (re.startsWith("?:", at)) at += 2;
                else if (at < re.length() && re.charAt(at) == '?') throw error("lookaround and named groups are not supported");
                BytePattern inner = alternation(depth + 1);
                if (at >= re.length() || re.charAt(at) != ')') throw error("'(' without ')'");
                at++;
                return inner;
            }
            case '[' -> {
                return charClass();
            }
            case '.' -> {
                at++;
                return alt(BytePattern.minus(BytePattern.range(0, 0x7F), BytePattern.range('\n', '\n')));
            }
            case '\\' -> {
                at++;
                if (at >= re.length()) throw error("trailing '\\'");
                char e = re.charAt(at++);
                BytePattern.Bytes cls = escapeClass(e);
                if (cls != null) return "DWS".indexOf(e) >= 0 ? alt(cls) : cls;
                return BytePattern.literal(String.valueOf(escapedLiteral(e)));
            }
            case '*', '+', '?', '{' -> throw error("a quantifier with nothing to repeat");
            default -> {
                at += Character.charCount(cp);
                return BytePattern.literal(new String(Character.toChars(cp)));
            }
        }
    }

    /** An ASCII byte set, or (for negated sets) it or any non-ASCII character. */
    private static BytePattern alt(BytePattern.Bytes ascii) {
        return BytePattern.alt(ascii, BytePattern.multiByteChar());
    }

    private BytePattern charClass() {
        at++;
        boolean negated = at < re.length() && re.charAt(at) == '^';
        if (negated) at++;
        BytePattern.Bytes set = BytePattern.range(0, -1);
        boolean first = true;
        while (at < re.length() && (re.charAt(at) != ']' || first)) {
            first = false;
            char c = re.charAt(at++);
            if (c == '\\') {
                if (at >= re.length()) throw error("trailing '\\'");
                char e = re.charAt(at++);
                BytePattern.Bytes cls = escapeClass(e);
                if (cls != null) {
                    set = BytePattern.union(set, cls);
                    continue;
                }
                c = escapedLiteral(e);
            }
            char hi = c;
            if (at + 1 < re.length() && re.charAt(at) == '-' && re.charAt(at + 1) != ']') {
                at++;
                hi = re.charAt(at++);
                if (hi == '\\') {
                    if (at >= re.length()) throw error("trailing '\\'");
                    hi = escapedLiteral(re.charAt(at++));
                }
                if (hi < c) throw error("class range out of order");
            }
            if (hi > 0x7F) throw error("character classes may hold only ASCII characters");
            set = BytePattern.union(set, BytePattern.range(c, hi));
        }
        if (at >= re.length()) throw error("'[' without ']'");
        at++;
        if (!negated) return set;
        return alt(BytePattern.minus(BytePattern.range(0, 0x7F), set));
    }

    private static BytePattern.Bytes escapeClass(char e) {
        BytePattern.Bytes digit = BytePattern.range('0', '9');
        BytePattern.Bytes word = BytePattern.union(BytePattern.union(digit, BytePattern.range('a', 'z')),
                BytePattern.union(BytePattern.range('A', 'Z'), BytePattern.range('_', '_')));
        BytePattern.Bytes space = BytePattern.union(BytePattern.range('\t', '\r'), BytePattern.range(' ', ' '));
        BytePattern.Bytes ascii = BytePattern.range(0, 0x7F);
        return switch (e) {
            case 'd' -> digit;
            case 'w' -> word;
            case 's' -> space;
            case 'D' -> BytePattern.minus(ascii, digit);
            case 'W' -> BytePattern.minus(ascii, word);
            case 'S' -> BytePattern.minus(ascii, space);
            default -> null;
        };
    }

    private char escapedLiteral(char e) {
        return switch (e) {
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case 'f' -> '\f';
            case 'v' -> '\u000B';
            default -> {
                if (Character.isLetterOrDigit(e)) throw error("unsupported escape \\" + e);
                yield e;
            }
        };
    }
}
