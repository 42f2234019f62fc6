#!/bin/sh
# Copies the fixtures into fuzz/corpus/<target>/ as seed corpora for
# `cargo +nightly fuzz run <target>`. The corpora are not committed.
set -eu
cd "$(dirname "$0")"
fixtures=../fixtures

seed() {
    target=$1
    shift
    mkdir -p "corpus/$target"
    find "$fixtures" -type f "$@" | while read -r file; do
        # Flatten the path into a unique name.
        name=$(printf '%s' "${file#"$fixtures"/}" | tr '/' '_')
        cp "$file" "corpus/$target/$name"
    done
    echo "corpus/$target: $(find "corpus/$target" -type f | wc -l) files"
}

seed hcl \( -name '*.tf' -o -name '*.tfvars' \)
seed yaml \( -name '*.yaml' -o -name '*.yml' \) ! -path '*/compose/*'
seed compose -path '*/compose/*' \( -name '*.yaml' -o -name '*.yml' \)
seed dockerfile \( -name 'Dockerfile*' -o -name '*.Dockerfile' \)
mkdir -p corpus/plan
cp ../tests/data/plan/plan.json corpus/plan/plan.json
echo "corpus/plan: $(find corpus/plan -type f | wc -l) files"
