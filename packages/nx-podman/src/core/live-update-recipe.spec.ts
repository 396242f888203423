import { goBuildOutput, goBuildPackage, inferLiveUpdateRecipe, type RecipeInput } from './live-update-recipe';

const GENERATED = `# comment
FROM --platform=$BUILDPLATFORM localhost/prism/go-builder:1.19 AS builder
ARG TARGETOS= TARGETARCH=
ARG GOPROXY= GOPRIVATE= GONOPROXY= GONOSUMDB= GOSUMDB= GOFLAGS=
ENV CGO_ENABLED=0 GOCACHE=/tmp/gocache GOMODCACHE=/tmp/gomodcache
WORKDIR /src/plugins/postgres
COPY core/go.mod core/go.sum* /src/core/
COPY plugins/postgres/go.mod plugins/postgres/go.sum* /src/plugins/postgres/
RUN --mount=type=cache,target=/tmp/gomodcache go mod download
COPY core/ /src/core/
COPY plugins/postgres/ /src/plugins/postgres/
RUN --mount=type=cache,target=/tmp/gocache --mount=type=cache,target=/tmp/gomodcache GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/plugin .

FROM localhost/prism/busybox:latest AS debug
COPY --from=builder /out/plugin /plugin
ENTRYPOINT ["/plugin"]

FROM scratch AS production
COPY --from=builder /out/plugin /plugin
USER 65532:65532
ENTRYPOINT ["/plugin"]
`;

const dirs =
  (...paths: string[]) =>
  (path: string) =>
    (paths.includes(path) ? 'dir' : path.includes('.') && path !== '.' ? 'file' : undefined) as 'dir' | 'file' | undefined;
const input = (over: Partial<RecipeInput> = {}): RecipeInput => ({ stage: 'production', kindOf: dirs('.', 'core', 'plugins/postgres', 'cmd'), ...over });

describe('inferLiveUpdateRecipe', () => {
  it('reads the shape the plugin generator makes', () => {
    const result = inferLiveUpdateRecipe(GENERATED, input());
    expect(result).toEqual({
      ok: true,
      recipe: {
        builderStage: 'builder',
        builderImage: 'localhost/prism/go-builder:1.19',
        env: { CGO_ENABLED: '0', GOCACHE: '/tmp/gocache', GOMODCACHE: '/tmp/gomodcache' },
        // Empty, as in an image build for the host: Go takes its defaults (GOOS/GOARCH of the host).
        args: { TARGETOS: '', TARGETARCH: '', GOPROXY: '', GOPRIVATE: '', GONOPROXY: '', GONOSUMDB: '', GOSUMDB: '', GOFLAGS: '' },
        user: undefined,
        workdir: '/src/plugins/postgres',
        mounts: [
          { source: 'core', target: '/src/core' },
          { source: 'plugins/postgres', target: '/src/plugins/postgres' },
        ],
        // ARGs substituted as podman does for the build step: empty, Go builds for the host.
        command: 'GOOS= GOARCH= go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/plugin .',
        cacheTargets: ['/tmp/gocache', '/tmp/gomodcache'],
        artifact: '/out/plugin',
        destination: '/plugin',
      },
    });
  });

  it('gives the same recipe for the debug stage', () => {
    const result = inferLiveUpdateRecipe(GENERATED, input({ stage: 'debug' }));
    expect(result.ok && result.recipe.destination).toBe('/plugin');
  });

  it('reads the common hand-written shape: go.mod first, COPY . ., relative -o, ARGs and a destination directory', () => {
    const text = `ARG GO_VERSION=1.22
FROM golang:\${GO_VERSION} AS build
ARG VERSION=dev
WORKDIR /app
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -ldflags "-X main.version=\${VERSION}" -o bin/server ./cmd/server

FROM gcr.io/distroless/static:nonroot
WORKDIR /srv
COPY --from=build /app/bin/server ./
ENTRYPOINT ["/srv/server"]
`;
    const result = inferLiveUpdateRecipe(text, input({ stage: '1', buildArgs: { VERSION: '1.2.3' } }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.recipe).toMatchObject({
      builderStage: 'build',
      builderImage: 'golang:1.22',
      args: { VERSION: '1.2.3' },
      workdir: '/app',
      mounts: [{ source: '.', target: '/app' }],
      artifact: '/app/bin/server',
      destination: '/srv/server',
      cacheTargets: [],
    });
    expect(result.recipe.command).toContain('-X main.version=1.2.3');
  });

  it('follows a builder stage that derives from an earlier stage', () => {
    const text = `FROM golang:1.22 AS base
ENV GOFLAGS=-mod=readonly
WORKDIR /w
FROM base AS builder
COPY . .
RUN go build -o=/bin/app .
FROM scratch AS production
COPY --from=builder /bin/app /app
`;
    const result = inferLiveUpdateRecipe(text, input());
    expect(result.ok && result.recipe).toMatchObject({
      builderImage: 'golang:1.22',
      env: { GOFLAGS: '-mod=readonly' },
      workdir: '/w',
      artifact: '/bin/app',
      destination: '/app',
    });
  });

  it('resolves relative paths before any WORKDIR against the image WORKDIR', () => {
    const text = `FROM golang:1.22 AS b
COPY . src
RUN go build -o app ./src
FROM scratch AS production
COPY --from=b /go/app /app
`;
    const result = inferLiveUpdateRecipe(text, input({ image: { workdir: '/go', env: { GOPATH: '/go' } } }));
    expect(result.ok && result.recipe).toMatchObject({ mounts: [{ source: '.', target: '/go/src' }], artifact: '/go/app', workdir: '/go' });
    expect(result.ok && result.recipe.env).toEqual({});
  });

  it('takes a stated command instead of the stage steps', () => {
    const text = `FROM golang:1.22 AS b
WORKDIR /src
COPY . .
RUN apk add --no-cache make && make build
FROM scratch AS production
COPY --from=b /src/out/app /app
`;
    expect(inferLiveUpdateRecipe(text, input()).ok).toBe(false);
    const result = inferLiveUpdateRecipe(text, input({ hints: { command: 'go build -o /src/out/app ./cmd/app' } }));
    expect(result.ok && result.recipe.command).toBe('go build -o /src/out/app ./cmd/app');
  });

  it.each([
    ['no COPY --from in the stage', 'FROM golang AS b\nRUN go build -o /a .\nFROM scratch AS production\nCOPY app /app\n', 'copies nothing from a build stage'],
    ['an unknown stage', GENERATED.replace('AS production', 'AS prod'), 'has no "production" stage'],
    [
      'a RUN the builder cannot repeat',
      'FROM golang AS b\nWORKDIR /s\nCOPY . .\nRUN apt-get install -y protobuf && protoc x\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'runs "apt-get install',
    ],
    [
      'no go build writing the artifact',
      'FROM golang AS b\nWORKDIR /s\nCOPY . .\nRUN go build -o /other .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'no "go build ... -o /a" step',
    ],
    [
      'a step changing the binary after the build',
      'FROM golang AS b\nWORKDIR /s\nCOPY . .\nRUN go build -o /a .\nRUN upx /a\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'changes /a after it is built',
    ],
    [
      'a glob copy',
      'FROM golang AS b\nWORKDIR /s\nCOPY *.go ./\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'copies a glob (*.go) that no directory it also copies covers',
    ],
    [
      'a glob directory',
      'FROM golang AS b\nWORKDIR /s\nCOPY cmd/*/main.go ./\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'copies a glob (cmd/*/main.go)',
    ],
    [
      'a single file not under a mounted directory',
      'FROM golang AS b\nWORKDIR /s\nCOPY main.go ./\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'single file main.go',
    ],
    [
      'a copy from another image',
      'FROM golang AS b\nWORKDIR /s\nCOPY --from=tools /bin/x /bin/x\nCOPY . .\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'copies from another stage or image',
    ],
    ['a builder FROM scratch', 'FROM scratch AS b\nCOPY . .\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n', 'FROM scratch'],
    [
      'a context path that does not exist',
      'FROM golang AS b\nWORKDIR /s\nCOPY missing/ m/\nRUN go build -o /a .\nFROM scratch AS production\nCOPY --from=b /a /a\n',
      'not in the build context',
    ],
  ])('gives a reason for %s', (_name, text, reason) => {
    const result = inferLiveUpdateRecipe(text, input());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('asks which binary when the stage copies two', () => {
    const text = `FROM golang AS b
WORKDIR /s
COPY . .
RUN go build -o /a ./a && go build -o /b ./b
FROM scratch AS production
COPY --from=b /a /a
COPY --from=b /b /b
`;
    const result = inferLiveUpdateRecipe(text, input());
    expect(!result.ok && result.reason).toContain('copies several files from build stages (/a, /b)');
    const picked = inferLiveUpdateRecipe(text.replace('go build -o /a ./a && go build -o /b ./b', 'go build -o /a ./a'), input({ hints: { artifact: '/a' } }));
    expect(picked.ok && picked.recipe.destination).toBe('/a');
  });
});

describe('goBuildPackage', () => {
  it.each([
    ['go build -trimpath -o /out/plugin .', '.'],
    ['CGO_ENABLED=0 go build -ldflags "-s" -o bin/server ./cmd/server', './cmd/server'],
    ['go build -trimpath -ldflags="-s -w" -o /out/plugin .', '.'],
    ['go build -ldflags "-X main.version=1 -s" -o /out/plugin ./cmd', './cmd'],
    ['go build -o /a', '.'],
    ['go build -o /a ./a ./b', undefined],
    ['go build -o /a example.com/x/cmd', undefined],
  ])('%s → %s', (command, pkg) => {
    expect(goBuildPackage(command)).toBe(pkg);
  });
});

describe('goBuildOutput', () => {
  it.each([
    ['go build -o /out/plugin .', '/out/plugin'],
    ['cd x && /usr/local/go/bin/go build -trimpath -o=bin/app ./cmd', 'bin/app'],
    ["go build -o '/out/app'", '/out/app'],
    ['go build -ldflags "-s -w -X main.v=1" -o /out/plugin .', '/out/plugin'],
    ['go vet ./... && go test ./...', undefined],
    ['go build ./...', undefined],
  ])('%s → %s', (command, output) => {
    expect(goBuildOutput(command)).toBe(output);
  });
});
