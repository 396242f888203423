import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUSYBOX_IMAGE, createE2eWorkspace, expectSucceeded, GO_BUILDER_IMAGE, removePodmanObjects, type E2eWorkspace } from './utils/workspace';

// Unique per run so that concurrent runs and earlier runs' images do not interfere.
const PROJECT = `nxpb${process.pid}`;
const REPO = `localhost/prism/${PROJECT}-plugin`;
const TAGS = [`${REPO}:production`, `${REPO}:latest`, `${REPO}:debug`];

const CONTAINERFILE = `# A Go stdlib HTTP server: built in the builder stage, shipped from scratch (production) or busybox (debug).
FROM ${GO_BUILDER_IMAGE} AS builder
WORKDIR /src
COPY go.mod ./
COPY main.go ./
RUN --mount=type=cache,target=/tmp/gocache go build -o /out/server .

FROM scratch AS production
COPY --from=builder /out/server /server
EXPOSE 8080
ENTRYPOINT ["/server"]

FROM ${BUSYBOX_IMAGE} AS debug
COPY --from=builder /out/server /server
EXPOSE 8080
ENTRYPOINT ["/server"]
`;

const mainGo = (greeting: string) => `package main

import (
	"fmt"
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "${greeting}") })
	log.Fatal(http.ListenAndServe(":8080", nil))
}
`;

function podman(...args: string[]): { code: number; stdout: string } {
  try {
    return { code: 0, stdout: execFileSync('podman', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() };
  } catch (error) {
    return { code: (error as { status?: number }).status ?? 1, stdout: '' };
  }
}

const imageId = (ref: string) => podman('image', 'inspect', '--format', '{{.Id}}', ref).stdout;

describe('podman-build (e2e: packed plugin, real Nx, real podman, real Go)', () => {
  let ws: E2eWorkspace;

  beforeAll(() => {
    ws = createE2eWorkspace('build', { plugins: [] });
    ws.write(
      `plugins/${PROJECT}/project.json`,
      JSON.stringify(
        {
          name: PROJECT,
          root: `plugins/${PROJECT}`,
          targets: {
            'podman-build': {
              executor: '@prism/nx-podman:podman-build',
              // Nx's cache says nothing about whether the image still exists: the executor skips by itself.
              cache: false,
              options: {},
              configurations: { production: { stage: 'production' }, debug: { stage: 'debug' } },
              defaultConfiguration: 'production',
            },
          },
        },
        null,
        2,
      ),
    );
    ws.write(`plugins/${PROJECT}/Containerfile`, CONTAINERFILE);
    ws.write(`plugins/${PROJECT}/go.mod`, `module example.com/${PROJECT}\n\ngo 1.19\n`);
    ws.write(`plugins/${PROJECT}/main.go`, mainGo(`hello ${process.pid} ${Date.now()}`));
    ws.write(`plugins/${PROJECT}/README.md`, '# not copied into the image\n');
  });

  afterAll(() => {
    const labelled = podman('images', '-a', '--quiet', '--no-trunc', '--filter', `label=io.prism.nx-podman.project=${PROJECT}`)
      .stdout.split('\n')
      .filter(Boolean);
    removePodmanObjects({ images: [...TAGS, ...new Set(labelled)] });
    ws?.cleanup();
  });

  it('builds the production stage with the default tags and records the image', () => {
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`]);
    expectSucceeded({ code, output });
    expect(output).toContain(`INFO building plugin plugin=${PROJECT} stage=production`);
    expect(output).toMatch(/STEP \d+\/\d+: FROM scratch AS production/); // podman's progress is streamed
    expect(output).toMatch(new RegExp(`INFO build completed plugin=${PROJECT} duration=\\d+\\.\\ds`));
    expect(podman('image', 'exists', `${REPO}:production`).code).toBe(0);
    expect(podman('image', 'exists', `${REPO}:latest`).code).toBe(0);

    const record = JSON.parse(ws.read(`.nx/podman/builds/${PROJECT}/production.json`));
    expect(record).toMatchObject({
      version: 1,
      project: PROJECT,
      stage: 'production',
      imageId: `sha256:${imageId(`${REPO}:production`)}`,
      tags: [`prism/${PROJECT}-plugin:production`, `prism/${PROJECT}-plugin:latest`],
      file: `plugins/${PROJECT}/Containerfile`,
      context: `plugins/${PROJECT}`,
      platforms: [],
    });
    expect(podman('image', 'inspect', '--format', '{{index .Labels "io.prism.nx-podman.input-hash"}}', `${REPO}:production`).stdout).toBe(record.inputHash);
  });

  it('builds the debug stage from the debug configuration', () => {
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build:debug`]);
    expectSucceeded({ code, output });
    expect(output).toContain(`INFO building plugin plugin=${PROJECT} stage=debug`);
    expect(podman('image', 'exists', `${REPO}:debug`).code).toBe(0);
    expect(imageId(`${REPO}:debug`)).not.toBe(imageId(`${REPO}:production`));
    // The debug image has busybox next to the Go binary.
    expect(podman('run', '--rm', '--entrypoint', '/bin/sh', `${REPO}:debug`, '-c', 'test -x /server && echo present').stdout).toBe('present');
  });

  it('skips an unchanged build, also after a change to a file no COPY reads', () => {
    const before = imageId(`${REPO}:production`);
    ws.write(`plugins/${PROJECT}/README.md`, '# still not copied\n');
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`]);
    expectSucceeded({ code, output });
    expect(output).toContain(`INFO image up to date plugin=${PROJECT}`);
    expect(output).not.toContain('INFO building plugin');
    expect(imageId(`${REPO}:production`)).toBe(before);
  });

  it('rebuilds after a source change', () => {
    const before = imageId(`${REPO}:production`);
    ws.write(`plugins/${PROJECT}/main.go`, mainGo(`changed ${Date.now()}`));
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`]);
    expectSucceeded({ code, output });
    expect(output).toContain(`INFO building plugin plugin=${PROJECT} stage=production`);
    const after = imageId(`${REPO}:production`);
    expect(after).not.toBe(before);
    expect(JSON.parse(ws.read(`.nx/podman/builds/${PROJECT}/production.json`)).imageId).toBe(`sha256:${after}`);
  });

  it('rebuilds with --force even when up to date', () => {
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`, '--force']);
    expectSucceeded({ code, output });
    expect(output).toContain(`INFO building plugin plugin=${PROJECT} stage=production`);
  });

  it('pushes to an oci-archive destination', () => {
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`, '--push', `--pushDestination=oci-archive:dist/{projectName}-{stage}.tar`]);
    expectSucceeded({ code, output });
    expect(existsSync(join(ws.root, `dist/${PROJECT}-production.tar`))).toBe(true);
  });

  it('fails before podman for an unknown stage', () => {
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`, '--stage=staging']);
    expect(code).not.toBe(0);
    expect(output).toContain(
      `Unknown stage "staging" for "${PROJECT}": plugins/${PROJECT}/Containerfile does not define it; its stages are "builder", "production", "debug".`,
    );
    expect(output).not.toContain('INFO building plugin');
  });

  it("fails with podman's exit code and last lines for a broken Containerfile, leaving the last image alone", () => {
    const before = imageId(`${REPO}:production`);
    ws.write(`plugins/${PROJECT}/Containerfile`, CONTAINERFILE.replace('go build -o /out/server .', 'go build -o /out/server ./does-not-exist'));
    const { code, output } = ws.nx(['run', `${PROJECT}:podman-build`]);
    expect(code).not.toBe(0);
    const failed = output.match(new RegExp(`podman build failed for "${PROJECT}" \\(exit (\\d+)\\): `));
    expect(failed).not.toBeNull();
    expect(output).toContain(`ERROR build failed plugin=${PROJECT} exit=${failed![1]}`);
    expect(output).toContain('does-not-exist');
    expect(imageId(`${REPO}:production`)).toBe(before);
  });
});
