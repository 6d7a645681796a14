"prefix ${{ a = 1; }}"
