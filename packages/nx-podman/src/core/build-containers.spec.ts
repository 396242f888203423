import { containersOnLayers, rootUpperDir, storageOfUpperDir } from './build-containers';

const LAYER = '4118dc994fdf0456a84c4d8938bdc41917b796db8c848abfcbf3caf299714721';
// As read from a RUN step's process under podman 4.3 (rootful, overlay).
const MOUNTINFO = [
  `106 77 0:39 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/containers/storage/overlay/l/I6SRRH6B5DFIZARZNF277HR4S4,upperdir=/var/lib/containers/storage/overlay/${LAYER}/diff,workdir=/var/lib/containers/storage/overlay/${LAYER}/work,uuid=on`,
  '107 106 0:42 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
  '108 106 0:43 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755',
].join('\n');

describe('build containers from a step process', () => {
  it('reads the upper directory of the root mount, and the storage file and layer it belongs to', () => {
    expect(rootUpperDir(MOUNTINFO)).toBe(`/var/lib/containers/storage/overlay/${LAYER}/diff`);
    expect(storageOfUpperDir(rootUpperDir(MOUNTINFO)!)).toEqual({
      containersFile: '/var/lib/containers/storage/overlay-containers/containers.json',
      layer: LAYER,
    });
  });

  it('is undefined for a root that is not overlay, a process without a root mount line, or another path shape', () => {
    expect(rootUpperDir('20 1 8:1 / / rw - ext4 /dev/sda1 rw')).toBeUndefined();
    expect(rootUpperDir('107 106 0:42 / /proc rw - proc proc rw\n')).toBeUndefined();
    expect(storageOfUpperDir('/var/lib/containers/storage/vfs/dir/abc')).toBeUndefined();
  });

  it('finds the containers on the given layers, and nothing in a file it cannot read', () => {
    const json = JSON.stringify([
      { id: 'a'.repeat(64), names: ['busybox-working-container'], image: 'i', layer: LAYER },
      { id: 'b'.repeat(64), names: ['other'], image: 'i', layer: 'c'.repeat(64) },
    ]);
    expect(containersOnLayers(json, new Set([LAYER]))).toEqual(['a'.repeat(64)]);
    expect(containersOnLayers('not json', new Set([LAYER]))).toEqual([]);
    expect(containersOnLayers('{}', new Set([LAYER]))).toEqual([]);
  });
});
