# Helpers sourced by install-docker.sh and build-standins.sh (not run on its own).
# The Debian mirror is read from this machine's apt configuration: no host is written in the repository.

# Prints the URI of the first enabled apt source that serves Debian's main archive: a suite named bookworm,
# trixie, stable, ... (optionally -updates/-backports; never -security), from deb822 *.sources files or
# one-line sources.list entries.
debian_mirror() {
    local uri suites='^(bookworm|trixie|forky|sid|stable|oldstable|testing|unstable)(-updates|-backports)?$'
    uri="$(
        {
            for f in /etc/apt/sources.list.d/*.sources; do
                [ -f "$f" ] || continue
                # deb822 stanzas are separated by blank lines.
                awk -v suites="$suites" 'BEGIN { RS = ""; FS = "\n" }
                     { uris = ""; ok = 0; enabled = 1; types = ""
                       for (i = 1; i <= NF; i++) {
                         if ($i ~ /^URIs:/)  { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
                         if ($i ~ /^Types:/) { types = $i }
                         if ($i ~ /^Enabled:[ \t]*no/) { enabled = 0 }
                         if ($i ~ /^Suites:/) {
                           line = $i; sub(/^Suites:[ \t]*/, "", line); n = split(line, w, /[ \t]+/)
                           for (j = 1; j <= n; j++) if (w[j] ~ suites) ok = 1
                         }
                       }
                       if (enabled && ok && uris != "" && types ~ /(^|[ \t])deb([ \t]|$)/) { split(uris, u, /[ \t]+/); print u[1] } }' "$f"
            done
            for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
                [ -f "$f" ] || continue
                awk -v suites="$suites" '$1 == "deb" {
                       line = $0; sub(/^deb[ \t]+/, "", line); sub(/^\[[^]]*\][ \t]*/, "", line)
                       split(line, w, /[ \t]+/); if (w[2] ~ suites) print w[1] }' "$f"
            done
        } | head -n 1
    )"
    if [ -z "$uri" ]; then
        echo "no Debian mirror found in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources" >&2
        return 1
    fi
    printf '%s\n' "${uri%/}"
}

# A separate apt state for Debian trixie, used only to download single .debs and read package lists.
# Nothing from it is ever installed system-wide.
TRIXIE_APT_DIR="${TRIXIE_APT_DIR:-/var/cache/datastack/apt-trixie}"

trixie_apt_opts() {
    printf '%s\n' \
        -o "Dir::Etc::SourceList=$TRIXIE_APT_DIR/sources.list" \
        -o "Dir::Etc::SourceParts=$TRIXIE_APT_DIR/sources.list.d" \
        -o "Dir::Etc::Preferences=$TRIXIE_APT_DIR/preferences" \
        -o "Dir::Etc::PreferencesParts=$TRIXIE_APT_DIR/preferences.d" \
        -o "Dir::State=$TRIXIE_APT_DIR/state" \
        -o "Dir::State::status=$TRIXIE_APT_DIR/state/status" \
        -o "Dir::Cache=$TRIXIE_APT_DIR/cache" \
        -o "APT::Architecture=$(dpkg --print-architecture)" \
        -o "APT::Architectures=$(dpkg --print-architecture)" \
        -o "Debug::NoLocking=1"
}

# Creates the trixie apt state (once) and refreshes its lists when they are older than a day.
trixie_apt_update() {
    local mirror opts
    mirror="$(debian_mirror)" || return 1
    mkdir -p "$TRIXIE_APT_DIR"/{sources.list.d,preferences.d,state/lists/partial,cache/archives/partial}
    : >"$TRIXIE_APT_DIR/preferences"
    touch "$TRIXIE_APT_DIR/state/status"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' "$mirror" \
        >"$TRIXIE_APT_DIR/sources.list.new"
    if ! cmp -s "$TRIXIE_APT_DIR/sources.list.new" "$TRIXIE_APT_DIR/sources.list" \
        || [ -z "$(find "$TRIXIE_APT_DIR/state/lists" -maxdepth 1 -name '*Packages*' -mtime -1 -print -quit)" ]; then
        mv "$TRIXIE_APT_DIR/sources.list.new" "$TRIXIE_APT_DIR/sources.list"
        mapfile -t opts < <(trixie_apt_opts)
        apt-get "${opts[@]}" update -qq
    else
        rm -f "$TRIXIE_APT_DIR/sources.list.new"
    fi
}

# apt-get / apt-cache against the trixie state: trixie_apt apt-cache policy docker-buildx
trixie_apt() {
    local tool="$1" opts
    shift
    mapfile -t opts < <(trixie_apt_opts)
    "$tool" "${opts[@]}" "$@"
}

# Downloads one trixie .deb into the current directory (apt's _apt sandbox user must be able to write it).
trixie_download() {
    if id _apt >/dev/null 2>&1; then
        chown _apt "$PWD"
    fi
    trixie_apt apt-get download -qq "$@"
}
