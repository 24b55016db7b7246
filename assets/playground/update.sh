#!/usr/bin/env bash
# Re-downloads the vendored GraphiQL playground files from the npm registry,
# exactly at the pinned versions below, so that the committed copies can be
# reproduced (and checked: `git diff` is empty after running it) or bumped.
#
#   assets/playground/update.sh
#
# Needs npm (for `npm pack`, which fetches from registry.npmjs.org and checks
# each tarball's integrity). After bumping a version: rename the files in
# src/http/playground.rs and index.html, update LICENSES.md, run
# `cargo test --test api playground` and `cd tests/browser && npm test`.
set -euo pipefail

REACT=18.3.1
REACT_DOM=18.3.1
GRAPHIQL=3.8.3 # the 3.x line is the last one shipping a UMD build
GRAPHQL_WS=6.4.2

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "react@$REACT" "react-dom@$REACT_DOM" "graphiql@$GRAPHIQL" \
    "graphql-ws@$GRAPHQL_WS" >/dev/null
for package in "react-$REACT" "react-dom-$REACT_DOM" "graphiql-$GRAPHIQL" "graphql-ws-$GRAPHQL_WS"; do
    mkdir "$package"
    tar -xzf "$package.tgz" -C "$package"
done

# The source maps are not vendored: drop the comments pointing at them, so
# that browser devtools do not ask the server for files it does not have.
strip_map() { sed -e '/^\/[*\/]# sourceMappingURL=/d' "$1" >"$2"; }

cp "react-$REACT/package/umd/react.production.min.js" \
    "$here/react-$REACT.production.min.js"
cp "react-dom-$REACT_DOM/package/umd/react-dom.production.min.js" \
    "$here/react-dom-$REACT_DOM.production.min.js"
strip_map "graphiql-$GRAPHIQL/package/graphiql.min.js" "$here/graphiql-$GRAPHIQL.min.js"
strip_map "graphiql-$GRAPHIQL/package/graphiql.min.css" "$here/graphiql-$GRAPHIQL.min.css"
cp "graphql-ws-$GRAPHQL_WS/package/umd/graphql-ws.min.js" "$here/graphql-ws-$GRAPHQL_WS.min.js"

# Nothing may load from another host: no @import and no url() other than
# inline data (the CSS embeds its fonts), no script loading from a CDN.
if grep -nE '@import|url\((["'"'"']?)(https?:)?//' "$here/graphiql-$GRAPHIQL.min.css"; then
    echo "update.sh: graphiql's CSS loads something from another host" >&2
    exit 1
fi
if grep -nE '(unpkg\.com|jsdelivr\.net|cdnjs\.|esm\.sh|fonts\.googleapis)' "$here"/*.js; then
    echo "update.sh: a vendored script mentions a CDN" >&2
    exit 1
fi
ls -l "$here"/*.js "$here"/*.css
